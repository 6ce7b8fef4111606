/// The entry rule for a SigV4a region set (`X-Amz-Region-Set`), shared by ``SigV4aSigner`` (which
/// refuses to make a signer for a set outside it) and the verifier (which refuses a request whose
/// set is outside it).
///
/// A set is 1 to ``maxEntries`` entries; an entry is 1 to ``maxEntryLength`` bytes of printable
/// ASCII (`0x21`…`0x7e`: no space, control byte or non-ASCII byte) other than `,`, the separator.
/// The signer also refuses `/` (a region is a credential-scope component there, as in SigV4); the
/// verifier reads a set with `/` in an entry, so it passes `allowingSlash: true`.
///
/// ```swift
/// SigV4aRegionSet.isValid(["us-east-1", "eu-*"], allowingSlash: false)  // true
/// SigV4aRegionSet.isValid([], allowingSlash: false)                      // false
/// ```
package enum SigV4aRegionSet {
    /// The most entries a set may have.
    package static let maxEntries = 64
    /// The longest entry, in bytes.
    package static let maxEntryLength = 128

    /// True when `entries` is 1 to ``maxEntries`` entries, each ``isValidEntry(_:allowingSlash:)``.
    package static func isValid(_ entries: [String], allowingSlash: Bool) -> Bool {
        !entries.isEmpty && entries.count <= maxEntries
            && entries.allSatisfy { isValidEntry($0, allowingSlash: allowingSlash) }
    }

    /// True when `entry` is 1 to ``maxEntryLength`` bytes, each printable ASCII other than `,`
    /// (and other than `/` unless `allowingSlash`).
    package static func isValidEntry(_ entry: String, allowingSlash: Bool) -> Bool {
        let bytes = entry.utf8
        guard !bytes.isEmpty, bytes.count <= maxEntryLength else { return false }
        return bytes.allSatisfy { b in
            b > 0x20 && b < 0x7f && b != UInt8(ascii: ",") && (allowingSlash || b != UInt8(ascii: "/"))
        }
    }
}
