import Hummingbird
import HummingbirdSigV4
import Logging
import NIOCore
import NIOSSL
import SigV4CommandLine
import SigV4Verifier
import Synchronization

/// The gateway's request context: what ``BasicSigV4RequestContext`` holds (the verified identity,
/// the peer's address) and the request's channel, where a mutual-TLS connection's client
/// certificate is read (``ConnectionCertificates``).
///
/// ```swift
/// let app = Application(responder: gateway.responder(), server: server)   // CallbackResponder<GatewayRequestContext>
/// ```
struct GatewayRequestContext: SigV4RequestContext, RemoteAddressRequestContext, SigV4ChannelRequestContext {
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

/// The client certificates of the open mutual-TLS connections, each read from its connection's TLS
/// handler once: the first request on a connection asks the handler on its event loop (a hop
/// there and back, about 0.2 ms of latency on this machine's idle threads), and every later
/// request on it (an HTTP/1.1 keep-alive connection, or the streams of an HTTP/2 one) finds the
/// certificate here, under a lock. An entry goes when its connection closes. A TLS connection's
/// client certificate cannot change while it is open (BoringSSL has no server-side
/// renegotiation and no TLS 1.3 post-handshake authentication), so the entry stays right.
///
/// ```swift
/// let certificates = ConnectionCertificates(logger: logger)
/// let certificate = await certificates.certificate(of: context.channel)   // nil without one
/// ```
final class ConnectionCertificates: Sendable {
    /// Each read is logged at debug level (`client certificate read`, with how many open
    /// connections then have an entry): one line per connection, never per request.
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// A connection's certificate, with the connection held weakly: an entry is used only for the
    /// very channel it was read from (a channel allocated later at the same address, while a removal
    /// is still on its way, finds `channel` nil or another object).
    private struct Entry {
        weak var channel: (any Channel)?
        let certificate: ClientCertificate
    }
    private let known = Mutex<[ObjectIdentifier: Entry]>([:])

    /// The certificate the client of `channel`'s connection presented in its TLS handshake, nil
    /// without TLS or without one. An HTTP/1.1 request's channel is the connection, whose pipeline
    /// holds the TLS handler; an HTTP/2 stream's holds none, and its TLS is its parent's, the
    /// connection's. (An HTTP/1.1 connection's own parent is the listening socket, which never has
    /// an entry and is asked only when the channel has no TLS.)
    func certificate(of channel: any Channel) async -> ClientCertificate? {
        let parent = channel.parent
        let found = known.withLock { known -> ClientCertificate? in
            func entry(_ candidate: any Channel) -> ClientCertificate? {
                guard let entry = known[ObjectIdentifier(candidate)], entry.channel === candidate else { return nil }
                return entry.certificate
            }
            return entry(channel) ?? parent.flatMap(entry)
        }
        if let found { return found }
        let connection: any Channel
        let read: NIOSSLCertificate
        if let own = try? await channel.nioSSL_peerCertificate().get() {
            (connection, read) = (channel, own)
        } else if let parent, let certificate = try? await parent.nioSSL_peerCertificate().get() {
            (connection, read) = (parent, certificate)
        } else {
            return nil
        }
        guard let der = try? read.toDERBytes(), let certificate = ClientCertificate(der: der) else { return nil }
        // Kept while the connection is open: the channel object lives at least that long, so its
        // identifier names no other connection meanwhile. (Closed already: the callback runs at once.)
        let id = ObjectIdentifier(connection)
        let open = known.withLock { known in
            known[id] = Entry(channel: connection, certificate: certificate)
            return known.count
        }
        logger.debug("client certificate read", metadata: ["open_connections": "\(open)"])
        connection.closeFuture.whenComplete { [self] _ in
            self.known.withLock { known in
                if let entry = known[id], entry.channel == nil || entry.channel === connection { known[id] = nil }
            }
        }
        return certificate
    }
}
