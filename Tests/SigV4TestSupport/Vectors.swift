public import Foundation
public import HTTPTypes

/// Locates `TestVectors/` by walking up from this file.
///
/// Shared by the test targets (a regular target that only tests depend on).
public enum Vectors {
    public static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("TestVectors")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("TestVectors/ not found above \(#filePath)")
    }()

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    public static func text(_ relative: String) throws -> String {
        try String(contentsOf: url(relative), encoding: .utf8)
    }

    public static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(relative))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The complete cases of an official suite (`v4` or `v4a`): the directories that hold the
    /// expected files (two upstream v4a directories are stubs with only `context.json` and `request.txt`).
    public static func suiteCases(_ suite: String) -> [String] {
        directories("aws-signing-test-suite/\(suite)").filter {
            FileManager.default.fileExists(
                atPath: url("aws-signing-test-suite/\(suite)/\($0)/header-signed-request.txt").path)
        }
    }

    public static func directories(_ relative: String) -> [String] {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: url(relative).path)) ?? []
        return items.filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: url(relative).appendingPathComponent(name).path, isDirectory: &isDir)
                && isDir.boolValue
        }.sorted()
    }
}

/// A request in the suites' raw `request.txt` format.
public struct RawRequest {
    public var method: String
    public var target: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// Parses `METHOD TARGET HTTP/1.1`, `Name:value` lines (obs-fold continuation lines are
    /// joined to the previous value with a space), an empty line, then the body.
    public init(_ text: String) {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        // The target may contain spaces: it runs to the last " HTTP/".
        let firstSpace = requestLine.firstIndex(of: " ")!
        method = String(requestLine[..<firstSpace])
        let rest = requestLine[requestLine.index(after: firstSpace)...]
        let httpRange = rest.range(of: " HTTP/", options: .backwards)!
        target = String(rest[..<httpRange.lowerBound])
        headers = []
        var bodyLines: [String] = []
        var inBody = false
        for line in lines {
            if inBody { bodyLines.append(line); continue }
            if line.isEmpty { inBody = true; continue }
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            let colon = line.firstIndex(of: ":")!
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        body = Array(bodyLines.joined(separator: "\n").utf8)
    }

    public var host: String { headers.first { $0.0.lowercased() == "host" }!.1 }

    /// An `HTTPRequest` carrying every header (Host included, as a field) in order.
    public func httpRequest() -> HTTPRequest {
        var fields = HTTPFields()
        for (name, value) in headers {
            fields.append(HTTPField(name: HTTPField.Name(name)!, lenientValue: Array(value.utf8)))
        }
        return HTTPRequest(
            method: HTTPRequest.Method(method)!, scheme: "https", authority: host, path: target, headerFields: fields)
    }
}

extension String {
    /// The text with trailing newlines removed (some upstream files end with one).
    public var trimmingTrailingNewlines: String {
        var s = self
        while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
        return s
    }
}
