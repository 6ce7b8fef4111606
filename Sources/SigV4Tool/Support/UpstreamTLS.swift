import ArgumentParser
import Logging
import NIOSSL
import Synchronization

/// The TLS configuration `sigv4 serve` uses toward an https upstream, for forwarded requests and for
/// the WebSocket relay: `--upstream-ca`'s certificates as the only trust roots, read again on
/// `SIGHUP`, and `--upstream-tls-certificate`'s pair, which the upstream gets when it asks for one
/// through its reloader's callback (``TLSCertificateReloader``: the pair in force at each handshake).
///
/// AsyncHTTPClient pools connections by TLS configuration. Until the CAs are read again the
/// client's own configuration (this one, as it started) serves every request; after that, each
/// forwarded request carries the configuration in force (``requestConfiguration``), so new
/// connections are verified against the new CAs and pooled ones of the old configuration are no
/// longer used. The configuration holds no private key (the client pair comes through the
/// callback), so keying the pool by it never serializes the key.
///
/// ```swift
/// let upstreamTLS = try UpstreamTLS(caPath: "ca.pem", clientCertificate: nil)
/// clientConfiguration.tlsConfiguration = upstreamTLS.configuration
/// TLSCertificateReloader.reloadOnHangUp([upstreamTLS], logger: logger)   // kill -HUP <pid>: CAs and certificate
/// ```
final class UpstreamTLS: HangUpReloadable {
    /// `--upstream-ca`; nil: the system's CAs, never read again.
    let caPath: String?
    /// `--upstream-tls-certificate`/`--upstream-tls-key`, reloaded with the CAs on `SIGHUP`.
    let clientCertificate: TLSCertificateReloader?
    private let state: Mutex<(configuration: TLSConfiguration, reread: Bool)>

    /// Reads `caPath` (a `ValidationError` naming `--upstream-ca` when it cannot be used).
    init(caPath: String?, clientCertificate: TLSCertificateReloader?) throws(ValidationError) {
        self.caPath = caPath
        self.clientCertificate = clientCertificate
        state = Mutex((try Self.configuration(caPath: caPath, clientCertificate: clientCertificate), false))
    }

    /// The configuration in force.
    var configuration: TLSConfiguration { state.withLock { $0.configuration } }

    /// The configuration one forwarded request carries: nil (the client's own) until the CAs were read
    /// again, then the configuration in force.
    var requestConfiguration: TLSConfiguration? { state.withLock { $0.reread ? $0.configuration : nil } }

    /// Reads `--upstream-ca` again; on success the next connections trust its certificates. Throws, and
    /// keeps the CAs in force, when the file cannot be read or holds no certificate. Returns how many
    /// certificates it holds; nil without `--upstream-ca`.
    @discardableResult
    func reloadCAs() throws(ValidationError) -> Int? {
        guard let caPath else { return nil }
        let fresh = try Self.configuration(caPath: caPath, clientCertificate: clientCertificate)
        state.withLock { $0 = (fresh, true) }
        if case .certificates(let roots) = fresh.trustRoots { return roots.count }
        return nil
    }

    /// One `SIGHUP`'s reading of the client certificate (logged by its reloader) and of `--upstream-ca`
    /// (`upstream CAs reloaded` with the file and the number of certificates, or `upstream CA reload
    /// failed` with the reason), each kept when its files cannot be used.
    func reloadLogging(to logger: Logger) {
        clientCertificate?.reloadLogging(to: logger)
        guard let caPath else { return }
        do throws(ValidationError) {
            let count = try reloadCAs()
            logger.notice("upstream CAs reloaded", metadata: ["file": "\(caPath)", "certificates": "\(count ?? 0)"])
        } catch {
            logger.error(
                "upstream CA reload failed; the previous CAs stay in use", metadata: ["reason": "\(error.message)"])
        }
    }

    /// A client configuration trusting `caPath`'s certificates alone (the system's without it), with
    /// `clientCertificate`'s callback.
    private static func configuration(caPath: String?, clientCertificate: TLSCertificateReloader?)
        throws(ValidationError) -> TLSConfiguration
    {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caPath {
            configuration.trustRoots = .certificates(
                try TLSCertificateReloader.certificates(atPath: caPath, flag: "--upstream-ca"))
        }
        if let clientCertificate { configuration.sslContextCallback = clientCertificate.contextCallback }
        return configuration
    }
}
