import CSigV4OpenSSL
import _SigV4Crypto

/// The certificate a client presented in a mutual-TLS handshake (`sigv4 serve --tls-client-ca`),
/// as the gateway names it to its upstream (`X-SigV4-Client-Cert-Subject` and
/// `X-SigV4-Client-Cert-SHA256`), its echo answer and its access log.
///
/// The subject is written as RFC 2253 writes a distinguished name: the most specific name first,
/// `CN=device-7,O=Example Corp`, with `,+"\<>;` escaped and every byte of a control or non-ASCII
/// character as `\XX` (`CN=J\C3\B6rg`), so the value is always printable ASCII and safe in a header
/// field. The fingerprint is the lowercase hex SHA-256 of the DER certificate, the value
/// `openssl x509 -noout -fingerprint -sha256` prints (there in uppercase, with colons).
///
/// ```swift
/// let certificate = ClientCertificate(der: derBytes)
/// certificate?.subject // "CN=device-7,O=Example Corp"
/// certificate?.sha256  // "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// ```
package struct ClientCertificate: Sendable, Equatable {
    /// The subject in RFC 2253 form; nil when it is longer than ``maximumSubjectLength`` (the
    /// fingerprint still names the certificate).
    package var subject: String?
    /// The lowercase hex SHA-256 of the DER certificate (64 digits).
    package var sha256: String

    /// The longest subject passed on: longer ones are left out rather than cut, so that a value
    /// sent is always the whole name.
    package static let maximumSubjectLength = 2048

    /// The upstream request's header naming the subject (in the gateway's `x-sigv4-` namespace,
    /// which it removes from every client request).
    package static let subjectHeader = "X-SigV4-Client-Cert-Subject"
    /// The upstream request's header naming the fingerprint.
    package static let sha256Header = "X-SigV4-Client-Cert-SHA256"

    /// The certificate in `der`; nil when `der` is not exactly one DER-encoded X.509 certificate.
    package init?(der: [UInt8]) {
        let capacity = Self.maximumSubjectLength
        var subject: String? = nil
        let length = der.withUnsafeBufferPointer { certificate in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { out in
                let count = CSigV4OpenSSL_x509_subject_rfc2253(
                    certificate.baseAddress, certificate.count, out.baseAddress, capacity)
                if count >= 0 {
                    subject = String(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[..<Int(count)]), as: UTF8.self)
                }
                return count
            }
        }
        guard length != -1 else { return nil }
        self.subject = subject
        self.sha256 = SHA256.hash(der).hex
    }
}
