import Foundation
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every process a test starts is the `sockit` built with the tests: under
/// `Scripts/sanitize.sh thread|address` that is the instrumented build, so the sanitizer checks
/// the echo servers, hand-offs, `send`, `listen`, `who` and `free` the suites run, not only the
/// test process.
@Suite("the sockit under test")
struct BinaryUnderTestTests {
    /// The sanitizer runtime this test process carries, if any (`__tsan_init`, `__asan_init`).
    static var sanitizerEntry: String? {
        for symbol in ["__tsan_init", "__asan_init"] where dlsym(UnsafeMutableRawPointer(bitPattern: 0), symbol) != nil
        {
            return symbol
        }
        return nil
    }

    @Test func isBuiltBesideTheTestsAndCarriesTheirSanitizer() throws {
        let binary = TestSupport.sockitBinary
        #expect(access(binary, X_OK) == 0, "\(binary) is not an executable")
        if ProcessInfo.processInfo.environment["SOCKIT_BIN"] == nil {
            #expect(binary == TestSupport.sockitBesideBundle)
        }
        guard let entry = Self.sanitizerEntry else { return }
        // An instrumented binary links the sanitizer's runtime, whose entry point it names.
        let image = try #require(FileManager.default.contents(atPath: binary), "cannot read \(binary)")
        #expect(image.range(of: Data(entry.utf8)) != nil, "\(binary) is not built with the tests' sanitizer (\(entry))")
    }
}
