import ArgumentParser
import CSigV4OpenSSL
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A certificate chain and private key `sigv4 serve` presents, read again from their files on
/// `SIGHUP` (a renewed certificate, as certbot or cert-manager writes it) without a restart: the
/// server's own (`--tls-certificate`), or the client certificate it shows an upstream that asks
/// for one (`--upstream-tls-certificate`).
///
/// Every TLS handshake asks for the pair in force (`TLSConfiguration.sslContextCallback`: on a
/// server at each ClientHello, on a client when the server requests a certificate), so
/// connections opened after a reload get the new certificate and open ones keep theirs. A reload
/// that fails (a file missing or unreadable, not PEM, or a key of another certificate) changes
/// nothing: the gateway goes on with the pair it had and logs why, naming the file, never the key.
///
/// ```swift
/// let pair = try TLSCertificateReloader(certificatePath: "cert.pem", keyPath: "key.pem")
/// configuration.sslContextCallback = pair.contextCallback
/// TLSCertificateReloader.reloadOnHangUp([pair], logger: logger)   // kill -HUP <pid>
/// ```
final class TLSCertificateReloader: HangUpReloadable {
    struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    /// The two options that name the files, for errors: the server's by default.
    typealias Flags = (certificate: String, key: String)
    static let serverFlags: Flags = ("--tls-certificate", "--tls-key")
    static let upstreamFlags: Flags = ("--upstream-tls-certificate", "--upstream-tls-key")

    let certificatePath: String
    let keyPath: String
    let flags: Flags
    /// What the log lines of a reload call the pair: `tls certificate` for the server's,
    /// `upstream tls certificate` for the upstream client certificate.
    let logName: String
    /// With `--tls-client-ca`: the client CAs, read again on the same `SIGHUP`.
    let clientAuthorities: ClientCertificateAuthorities?
    private let current: Mutex<Pair>
    /// The `SIGHUP` source, kept alive while the server runs (set once, then only read by
    /// libdispatch: hence unchecked).
    private struct SignalSource: @unchecked Sendable { let source: any DispatchSourceSignal }
    private static let source = Mutex<SignalSource?>(nil)

    /// Reads and checks the pair; throws what ``load(certificatePath:keyPath:flags:)`` throws.
    init(
        certificatePath: String, keyPath: String, flags: Flags = serverFlags, logName: String = "tls certificate",
        clientAuthorities: ClientCertificateAuthorities? = nil
    ) throws(ValidationError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.flags = flags
        self.logName = logName
        self.clientAuthorities = clientAuthorities
        current = Mutex(try Self.load(certificatePath: certificatePath, keyPath: keyPath, flags: flags))
    }

    /// The pair in the two files, checked to go together (a TLS context is made of them). `flags`:
    /// the options that named the files, for the errors (the server's by default; the upstream
    /// client certificate's for `--upstream-tls-certificate`).
    static func load(certificatePath: String, keyPath: String, flags: Flags = serverFlags) throws(ValidationError)
        -> Pair
    {
        let chain = try certificates(atPath: certificatePath, flag: flags.certificate)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw ValidationError("\(flags.key) \(keyPath): not a readable PEM private key")
        }
        let mismatch = ValidationError(
            "\(flags.key) \(keyPath) does not go with the certificate of \(flags.certificate) \(certificatePath)")
        // Checked with libcrypto first: swift-nio-ssl 2.37's NIOSSLContext leaks its SSL_CTX when its
        // initializer throws (LeakSanitizer, session 35), which a wrong pair given on every SIGHUP would
        // repeat. Only a pair libcrypto cannot read is left to the context alone.
        if Self.pairMatches(certificatePath: certificatePath, keyPath: keyPath) == false { throw mismatch }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw mismatch
        }
        return Pair(chain: chain, key: key)
    }

    /// The PEM certificates in the file at `path`, at least one; a `ValidationError` naming `flag` and
    /// the file when it cannot be read or holds none.
    static func certificates(atPath path: String, flag: String) throws(ValidationError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ValidationError("\(flag) \(path): not a readable PEM file of certificates")
        }
        guard !certificates.isEmpty else { throw ValidationError("\(flag) \(path): no certificate in the file") }
        return certificates
    }

    /// Whether the first certificate in `certificatePath` and the key in `keyPath` go together, as
    /// libcrypto reads them (`X509_check_private_key`); nil when it cannot read either. The key's
    /// bytes are overwritten once checked.
    static func pairMatches(certificatePath: String, keyPath: String) -> Bool? {
        guard let certificate = FileManager.default.contents(atPath: certificatePath),
            var key = FileManager.default.contents(atPath: keyPath)
        else { return nil }
        defer { key.resetBytes(in: 0..<key.count) }
        let result = certificate.withUnsafeBytes { c in
            key.withUnsafeBytes { k in
                CSigV4OpenSSL_pem_pair_matches(
                    c.bindMemory(to: UInt8.self).baseAddress, c.count, k.bindMemory(to: UInt8.self).baseAddress, k.count)
            }
        }
        return result < 0 ? nil : result == 1
    }

    /// The pair in force.
    var pair: Pair { current.withLock { $0 } }

    /// Reads the files again; on success the next handshakes present the new pair. Throws (and
    /// keeps the old pair) when they cannot be read or do not go together.
    func reload() throws(ValidationError) {
        let fresh = try Self.load(certificatePath: certificatePath, keyPath: keyPath, flags: flags)
        current.withLock { $0 = fresh }
    }

    /// For `TLSConfiguration.sslContextCallback`: every handshake presents the pair in force.
    var contextCallback: NIOSSLContextCallback {
        { [self] _, promise in
            let pair = self.pair
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
    }

    /// Reloads every one of `reloaders` on each `SIGHUP` (one signal source for the process), each
    /// logging its outcome and keeping what it had when its files cannot be used: a certificate pair
    /// (`<logName> reloaded` or `<logName> reload failed` with the reason) with the client CAs of the
    /// server's pair (`tls client CAs reloaded` or `tls client CA reload failed`), and the upstream's
    /// client certificate and CAs (``UpstreamTLS``).
    static func reloadOnHangUp(_ reloaders: [any HangUpReloadable], logger: Logger) {
        guard !reloaders.isEmpty else { return }
        signal(SIGHUP, SIG_IGN)
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler {
            for reloader in reloaders { reloader.reloadLogging(to: logger) }
        }
        hangUp.resume()
        let kept = SignalSource(source: hangUp)
        source.withLock { $0 = kept }
    }

    /// One `SIGHUP`'s reload of this pair and its client CAs, logged.
    func reloadLogging(to logger: Logger) {
        do throws(ValidationError) {
            try reload()
            logger.notice("\(logName) reloaded", metadata: ["certificate": "\(certificatePath)"])
        } catch {
            logger.error(
                "\(logName) reload failed; the previous certificate stays in use",
                metadata: ["reason": "\(error.message)"])
        }
        guard let authorities = clientAuthorities else { return }
        do throws(ValidationError) {
            try authorities.reload()
            logger.notice(
                "tls client CAs reloaded",
                metadata: ["file": "\(authorities.path)", "certificates": "\(authorities.count)"])
        } catch {
            logger.error(
                "tls client CA reload failed; the previous CAs stay in use", metadata: ["reason": "\(error.message)"])
        }
    }
}

/// What `sigv4 serve` reads again from its files on `SIGHUP`
/// (``TLSCertificateReloader/reloadOnHangUp(_:logger:)``).
protocol HangUpReloadable: Sendable {
    /// Reads the files again, keeping what was in force when they cannot be used, and logs the outcome.
    func reloadLogging(to logger: Logger)
}
