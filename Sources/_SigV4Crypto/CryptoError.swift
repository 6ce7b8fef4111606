internal import CSigV4OpenSSL

/// A failure inside libcrypto, with the drained OpenSSL error stack.
///
/// ```swift
/// do { try SecureRandom.fill(&buffer) } catch let error as CryptoError { print(error) }
/// ```
package struct CryptoError: Error, Sendable, CustomStringConvertible {
    /// What we were doing.
    package var operation: String
    /// OpenSSL error strings, oldest first (never contains key material).
    package var openSSLErrors: [String]

    package init(operation: String, openSSLErrors: [String]) {
        self.operation = operation
        self.openSSLErrors = openSSLErrors
    }

    /// Builds an error from the current thread's OpenSSL error queue and clears it.
    package static func drain(_ operation: String) -> CryptoError {
        var messages: [String] = []
        while true {
            let code = CSigV4OpenSSL_ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            CSigV4OpenSSL_ERR_error_string_n(code, &buf, buf.count)
            messages.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            if messages.count > 16 { break }
        }
        CSigV4OpenSSL_ERR_clear_error()
        return CryptoError(operation: operation, openSSLErrors: messages)
    }

    package var description: String {
        openSSLErrors.isEmpty
            ? "libcrypto: \(operation) failed" : "libcrypto: \(operation) failed: \(openSSLErrors.joined(separator: "; "))"
    }
}

/// The version string of the linked libcrypto.
package var openSSLVersion: String { String(cString: CSigV4OpenSSL_version_text()) }
