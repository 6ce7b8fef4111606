// libFuzzer target: what `sigv4 serve` tells its upstream of a request's origin (`TrustedProxies`: the
// `--trusted-proxy` ranges, the connection's peer, and the request's `X-Forwarded-For`,
// `X-Forwarded-Proto` and RFC 7239 `Forwarded` values, which a trusted proxy's word keeps).
// The input is `ranges NUL peer NUL x-forwarded-for NUL x-forwarded-proto NUL forwarded`, each part's
// lines one argument or field value; a missing part is empty. A peer that is not an address is
// replaced by one of three (the gateway's peer always is one), chosen by the input's length.
// Oracles (in `CommandLineFuzzing.forwarding`): no crash and no hang; deterministic; an untrusted
// peer's fields unread; the X-Forwarded-For sent is at most 33 addresses as inet_ntop writes them,
// the peer last, and nothing else; the client named is one of them; the protocol http or https.
import Glibc
import LibFuzzerDriver
@_spi(Fuzzing) import SigV4CommandLine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let parts = bytes.split(separator: 0, maxSplits: 4, omittingEmptySubsequences: false)
    func lines(_ index: Int) -> [String] {
        guard index < parts.count, !parts[index].isEmpty else { return [] }
        return parts[index].split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
    var peer = lines(1).first ?? ""
    var v4 = in_addr(), v6 = in6_addr()
    if peer.utf8.count > 45 || (inet_pton(AF_INET, peer, &v4) != 1 && inet_pton(AF_INET6, peer, &v6) != 1) {
        peer = ["10.0.0.1", "2001:db8::7", "192.0.2.9"][size % 3]
    }
    _ = CommandLineFuzzing.forwarding(
        trusted: lines(0), peer: peer, forwardedFor: lines(2), forwardedProto: lines(3), forwarded: lines(4),
        scheme: size % 2 == 0 ? "http" : "https")
    return 0
}

runFuzzer(fuzzOne)
