import Logging

/// The log handler of `sigv4 serve`: swift-log's `StreamLogHandler` output, with the metadata kept
/// as it is set and formatted only when an entry is written.
///
/// `StreamLogHandler` formats its whole metadata into text on every change, and Hummingbird sets a
/// request id on each request's logger: at the default level, where a successful request logs
/// nothing, that formatting was about 5% of the gateway's CPU under wrk (perf, session 8). The
/// output is the same as `StreamLogHandler`'s, which writes it.
///
/// ```swift
/// LoggingSystem.bootstrap { label in GatewayLogHandler(StreamLogHandler.standardOutput(label: label)) }
/// ```
struct GatewayLogHandler: LogHandler {
    private var stream: StreamLogHandler
    /// Held as set; handed to `stream` (which formats it) only for an entry that is written.
    var metadata: Logger.Metadata = [:]

    init(_ stream: StreamLogHandler) {
        self.stream = stream
        metadata = stream.metadata
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var stream = self.stream
        stream.metadata = metadata
        stream.log(event: event)
    }
}
