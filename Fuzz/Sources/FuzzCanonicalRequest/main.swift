// libFuzzer target: canonical URI and query building from arbitrary request targets and headers.
// Input: byte 0 = flags (normalize, double-encode, plus policy, header selection); then NUL-separated
// fields: method, target, then header name/value pairs.
// Oracles: no crash; the same input builds the same bytes twice; the canonical URI and query lines are
// plain ASCII without spaces; with distinct header names, reversing the header order changes nothing.
import LibFuzzerDriver
import Glibc
import SigV4

func fields(_ bytes: ArraySlice<UInt8>) -> [String] {
    bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let flags = bytes.first else { return 0 }
    let parts = fields(bytes.dropFirst())
    let method = parts[0].isEmpty ? "GET" : parts[0]
    let target = parts.count > 1 ? parts[1] : "/"
    var headers: [(String, String)] = [("Host", "example.amazonaws.com")]
    var i = 2
    while i + 1 < parts.count {
        headers.append((parts[i], parts[i + 1]))
        i += 2
    }
    var rules = ServiceRules.standard
    rules.normalizePath = flags & 1 != 0
    rules.doubleEncodePath = flags & 2 != 0
    let plus: URIEncoding.PlusPolicy = switch (flags >> 2) % 3 {
    case 0: .literal
    case 1: .space
    default: .verbatim
    }
    let extra: [(String, String)] = flags & 0x20 != 0 ? [("X-Amz-Expires", "60")] : []
    func build(_ h: [(String, String)]) -> CanonicalRequest? {
        try? CanonicalRequest(
            method: method, target: target, extraQuery: extra, headers: h, payloadHash: .emptySHA256, rules: rules,
            plus: plus)
    }
    guard let first = build(headers) else { return 0 }
    guard let again = build(headers), again.text == first.text else { fatalError("canonicalization is not deterministic") }
    precondition(method.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != 0x3a }, "a non-token method was accepted")
    let lines = first.text.split(separator: "\n", omittingEmptySubsequences: false)
    precondition(lines.count >= 6, "a canonical request has at least six lines")
    for line in lines[1...2] {
        precondition(line.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }, "URI/query line is not plain ASCII: \(line)")
    }
    let names = headers.map { $0.0.lowercased() }
    if Set(names).count == names.count {
        guard let reversed = build(headers.reversed()), reversed.text == first.text else {
            fatalError("header order changed the canonical request")
        }
    }
    return 0
}

runFuzzer(fuzzOne)
