public import Hummingbird
public import NIOCore
public import SigV4Verifier

/// A request context that can carry the identity the SigV4 middleware verified.
///
/// Adopt it in your own context type, or use ``BasicSigV4RequestContext``.
///
/// ```swift
/// struct AppContext: SigV4RequestContext {
///     var coreContext: CoreRequestContextStorage
///     var sigV4: VerifiedRequest?
///     init(source: Source) {
///         self.coreContext = .init(source: source)
///     }
/// }
/// router.get("/whoami") { _, context in context.sigV4?.principal ?? "nobody" }
/// ```
public protocol SigV4RequestContext: RequestContext {
    /// The verified request (access key id, principal, scope), set by ``SigV4Authenticator``.
    var sigV4: VerifiedRequest? { get set }
    /// The verified browser-form upload (key, bucket, object fields), set by ``SigV4Authenticator``
    /// when ``SigV4Authenticator/Configuration/browserForms`` is on; the request's body is then the
    /// file. A context without a stored property for it (the default) never holds one.
    var sigV4Form: VerifiedPostForm? { get set }
    /// The checksum an aws-chunked body's trailer carried, filled once the body has been read and
    /// verified (``SigV4BodyTrailer``), set by ``SigV4Authenticator`` when the body declares a
    /// trailer. A context without a stored property for it (the default) never holds one.
    var sigV4Trailer: SigV4BodyTrailer? { get set }
}

extension SigV4RequestContext {
    /// No stored form: contexts written before browser forms keep compiling (and never see one).
    public var sigV4Form: VerifiedPostForm? {
        get { nil }
        set {}
    }

    /// No stored trailer: contexts written before it keep compiling (and never see one).
    public var sigV4Trailer: SigV4BodyTrailer? {
        get { nil }
        set {}
    }
}

/// The simplest ``SigV4RequestContext``: Hummingbird's core context plus the verified identity.
///
/// ```swift
/// let router = Router(context: BasicSigV4RequestContext.self)
/// router.add(middleware: SigV4Authenticator(verifier: verifier))
/// ```
public struct BasicSigV4RequestContext: SigV4RequestContext, RemoteAddressRequestContext, SigV4ChannelRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The verified identity, nil until the middleware accepted the request.
    public var sigV4: VerifiedRequest?
    /// The verified browser-form upload, nil unless the middleware accepted one.
    public var sigV4Form: VerifiedPostForm?
    /// The checksum an aws-chunked body's trailer carried, once the body has been read; nil when the
    /// body declares no trailer.
    ///
    /// ```swift
    /// for try await _ in request.body {}
    /// let crc = context.sigV4Trailer?.checksum?.value
    /// ```
    public var sigV4Trailer: SigV4BodyTrailer?
    /// The address of the connection's peer (the client, or the proxy in front of this server), as
    /// the channel reports it; nil where there is none (Hummingbird's router test framework).
    ///
    /// ```swift
    /// router.get("/whoami") { _, context in context.remoteAddress?.ipAddress ?? "unknown" }
    /// ```
    public var remoteAddress: SocketAddress?
    /// The channel the request came on (for HTTP/2, its stream's), for ``ExpectContinueMiddleware``.
    ///
    /// ```swift
    /// router.add(middleware: ExpectContinueMiddleware<BasicSigV4RequestContext>())
    /// ```
    public let channel: any Channel

    /// Creates an empty context for a new request.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.sigV4 = nil
        self.sigV4Form = nil
        self.sigV4Trailer = nil
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
