import Hummingbird
import HummingbirdSigV4
import NIOCore
import NIOSSL
import SigV4CommandLine
import SigV4Verifier

/// The gateway's request context: what ``BasicSigV4RequestContext`` holds (the verified identity,
/// the peer's address) and the request's channel, where a mutual-TLS connection's client
/// certificate is read (``Gateway/clientCertificate(of:)``).
///
/// ```swift
/// let app = Application(responder: gateway.responder(), server: server)   // CallbackResponder<GatewayRequestContext>
/// ```
struct GatewayRequestContext: SigV4RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var sigV4: VerifiedRequest?
    var sigV4Form: VerifiedPostForm?
    /// The channel the request came on: the connection's for HTTP/1.1, a stream's for HTTP/2 (its
    /// `parent` is then the connection).
    let channel: any Channel
    /// The address of the connection's peer, as the channel reports it.
    var remoteAddress: SocketAddress? { channel.remoteAddress }

    init(source: Source) {
        self.coreContext = .init(source: source)
        self.sigV4 = nil
        self.sigV4Form = nil
        self.channel = source.channel
    }
}

extension Gateway {
    /// The certificate the client of `channel`'s connection presented in its TLS handshake, nil
    /// without TLS or without one. Asked of the connection's TLS handler on its event loop (one hop
    /// per request, only with `--tls-client-ca`).
    static func clientCertificate(of channel: any Channel) async -> ClientCertificate? {
        // An HTTP/1.1 request's channel is the connection, whose pipeline holds the TLS handler; an
        // HTTP/2 stream's holds none, and its TLS is its parent's, the connection's. (An HTTP/1.1
        // connection's own parent is the listening socket: asked only when the channel has no TLS.)
        let certificate: NIOSSLCertificate
        if let own = try? await channel.nioSSL_peerCertificate().get() {
            certificate = own
        } else if let parent = channel.parent, let connection = try? await parent.nioSSL_peerCertificate().get() {
            certificate = connection
        } else {
            return nil
        }
        guard let der = try? certificate.toDERBytes() else { return nil }
        return ClientCertificate(der: der)
    }
}
