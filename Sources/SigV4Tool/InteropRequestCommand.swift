import ArgumentParser
import AsyncHTTPClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import NIOHTTP1
import SigV4
import SigV4AsyncHTTPClient
import SigV4Foundation

/// Hidden: sends one request signed by the project's AsyncHTTPClient or URLRequest adapter.
/// The interop suite (scripts/interop) uses it to put the adapters through the gateway.
struct InteropRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-request", abstract: "Send one request signed by a client adapter (testing aid).",
        shouldDisplay: false)

    enum Adapter: String, ExpressibleByArgument { case asyncHTTPClient = "async-http-client", urlsession }

    @Argument(help: "The URL, percent-encoded as it should go on the wire.") var url: String
    @Option var adapter: Adapter = .asyncHTTPClient
    @Option var method: String = "GET"
    @Option var bodyFile: String?
    @Option var output: String?
    @Option var region: String
    @Option var service: String
    @Option var accessKeyID: String
    @Option var secretAccessKey: String

    func run() async throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey), region: region,
            service: service)
        let body = try bodyFile.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let now = AmzDate(Date())
        let (status, data): (Int, Data)
        switch adapter {
        case .asyncHTTPClient:
            var request = HTTPClientRequest(url: url)
            request.method = HTTPMethod(rawValue: method)
            if let body {
                try request.sign(with: signer, body: ByteBuffer(bytes: body), at: now)
            } else {
                try request.sign(with: signer, payload: .emptySHA256, at: now)
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            var collected = try await response.body.collect(upTo: 256 << 20)
            status = Int(response.status.code)
            data = Data(collected.readBytes(length: collected.readableBytes) ?? [])
        case .urlsession:
            guard let target = URL(string: url) else { throw ValidationError("not a URL: \(url)") }
            var request = URLRequest(url: target)
            request.httpMethod = method
            request.httpBody = body
            try request.sign(with: signer, at: now)
            let (received, response) = try await URLSession.shared.data(for: request)
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
            data = received
        }
        if let output { try data.write(to: URL(fileURLWithPath: output)) }
        guard (200..<300).contains(status) else {
            FileHandle.standardError.write(Data("HTTP \(status): ".utf8) + data.prefix(2000) + Data("\n".utf8))
            throw ExitCode(1)
        }
        print("HTTP \(status), \(data.count) bytes")
    }
}
