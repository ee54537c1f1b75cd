import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// User names by uid, looked up once each (`getpwuid_r`); the number when the user has no name.
/// A list, not a dictionary: the holders of a machine's sockets are a few users, and the first
/// use of a dictionary type costs more than searching a few.
struct UserNames {
    private var cache: [(uid: UInt32, name: String)] = []

    mutating func name(_ uid: UInt32) -> String {
        if let known = cache.first(where: { $0.uid == uid }) { return known.name }
        let name = PortSys.userName(uid) ?? String(uid)
        cache.append((uid, name))
        return name
    }
}
