import Foundation
import SigV4CommandLine
import Testing

/// `ClientCertificate`: how `sigv4 serve --tls-client-ca` names a client's certificate to its
/// upstream. Certificates are made by the openssl command; the subject is compared with what
/// `openssl x509 -nameopt RFC2253` prints, and the fingerprint with `openssl x509 -fingerprint -sha256`.
@Suite("ClientCertificate: a mutual-TLS client's subject and fingerprint")
struct ClientCertificateTests {
    /// A self-signed certificate for `subject` (openssl's `-subj` syntax, UTF-8): its DER bytes and
    /// what openssl prints for its RFC 2253 subject and SHA-256 fingerprint (lowercase, no colons).
    static func make(_ subject: String, multivalued: Bool = false) throws -> (der: [UInt8], subject: String, sha256: String) {
        let directory = try TempDir()
        let env = Tool.cleanEnvironment(home: directory.path)
        var request = [
            "req", "-x509", "-utf8", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory.path + "/key.pem", "-out", directory.path + "/cert.pem", "-subj", subject, "-days", "1",
        ]
        if multivalued { request.append("-multivalue-rdn") }
        let made = try Tool.run("/usr/bin/openssl", request, env: env)
        try #require(made.status == 0, "openssl req: \(made.stderr)")
        let der = try Tool.run(
            "/usr/bin/openssl", ["x509", "-in", directory.path + "/cert.pem", "-outform", "DER"], env: env)
        let printed = try Tool.run(
            "/usr/bin/openssl",
            ["x509", "-in", directory.path + "/cert.pem", "-noout", "-subject", "-nameopt", "RFC2253", "-fingerprint", "-sha256"],
            env: env)
        try #require(der.status == 0 && printed.status == 0, "\(der.stderr) \(printed.stderr)")
        var printedSubject = "", fingerprint = ""
        for line in String(decoding: printed.stdout, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("subject=") { printedSubject = String(line.dropFirst("subject=".count)) }
            if let equals = line.firstIndex(of: "="), line.lowercased().contains("fingerprint") {
                fingerprint = line[line.index(after: equals)...].replacingOccurrences(of: ":", with: "").lowercased()
            }
        }
        return (Array(der.stdout), printedSubject, fingerprint)
    }

    @Test("a plain subject reads most specific name first, as RFC 2253 writes it; the fingerprint is the DER's SHA-256")
    func plainSubject() throws {
        let made = try Self.make("/C=DE/O=Example Corp/CN=device-7")
        let certificate = try #require(ClientCertificate(der: made.der))
        #expect(certificate.subject == "CN=device-7,O=Example Corp,C=DE")
        #expect(certificate.subject == made.subject)
        #expect(certificate.sha256 == made.sha256)
        #expect(certificate.sha256.count == 64)
    }

    @Test("special characters are escaped and non-ASCII bytes written as \\XX, so the value is printable ASCII; a multi-valued name keeps its +")
    func escapedSubject() throws {
        let made = try Self.make("/O=Ex\u{E4}mple, Inc.; \"R&D\"/CN=J\u{F6}rg <admin>+serialNumber=7", multivalued: true)
        let certificate = try #require(ClientCertificate(der: made.der))
        let subject = try #require(certificate.subject)
        #expect(subject == made.subject)
        #expect(subject.contains("J\\C3\\B6rg \\<admin\\>"), "\(subject)")
        #expect(subject.contains("Ex\\C3\\A4mple\\, Inc.\\; \\\"R&D\\\""), "\(subject)")
        #expect(subject.contains("+serialNumber=7") || subject.hasPrefix("serialNumber=7+"), "\(subject)")
        #expect(subject.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }, "\(subject)")
        #expect(certificate.sha256 == made.sha256)
    }

    @Test("a subject longer than 2,048 bytes is left out whole (never cut); the fingerprint still names the certificate")
    func longSubject() throws {
        let units = (0..<40).map { "/OU=" + String(repeating: Character(UnicodeScalar(UInt8(97 + $0 % 26))), count: 60) }
        let made = try Self.make(units.joined() + "/CN=long")
        #expect(made.subject.utf8.count > ClientCertificate.maximumSubjectLength)
        let certificate = try #require(ClientCertificate(der: made.der))
        #expect(certificate.subject == nil)
        #expect(certificate.sha256 == made.sha256)
    }

    @Test("bytes that are not exactly one DER certificate give nil: empty, garbage, cut short, or with a byte after it")
    func notACertificate() throws {
        let made = try Self.make("/CN=device-7")
        #expect(ClientCertificate(der: []) == nil)
        #expect(ClientCertificate(der: Array("-----BEGIN CERTIFICATE-----".utf8)) == nil)
        #expect(ClientCertificate(der: Array(made.der.dropLast())) == nil)
        #expect(ClientCertificate(der: made.der + [0]) == nil)
        #expect(ClientCertificate(der: made.der) != nil)
    }
}
