// libFuzzer target: the POST policy reader (`PostPolicy(json:)`, a browser-form upload's decoded
// `policy` field). Input: the JSON bytes.
// Oracle: no crash, no hang; a document that reads writes back (`json`) to text that reads to the
// same policy.
import LibFuzzerDriver
import SigV4

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let policy = try? PostPolicy(json: bytes) else { return 0 }
    let written = Array(policy.json.utf8)
    guard let again = try? PostPolicy(json: written), again == policy else {
        fatalError("a policy read from \(bytes.count) bytes does not read back from what it writes")
    }
    return 0
}

runFuzzer(fuzzOne)
