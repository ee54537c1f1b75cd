import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// User names by uid, looked up once each (`getpwuid_r`); the number when the user has no name.
struct UserNames {
    private var cache: [UInt32: String] = [:]

    mutating func name(_ uid: UInt32) -> String {
        if let name = cache[uid] { return name }
        let name = PortSys.userName(uid) ?? String(uid)
        cache[uid] = name
        return name
    }
}
