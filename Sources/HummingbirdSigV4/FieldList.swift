/// A field value that is a comma-separated list (RFC 9110, section 5.6.1: `Connection`, `Expect`,
/// `Transfer-Encoding`), read as its UTF-8 bytes.
///
/// ```swift
/// FieldList.members(" close ,, X-Hop ").map { String($0)! }   // ["close", "X-Hop"]
/// ```
package enum FieldList {
    /// The members of `value`, each without the spaces and tabs around it (optional whitespace); empty
    /// members are left out.
    ///
    /// ```swift
    /// let asks = FieldList.members(expect).contains { $0.elementsEqual("100-continue".utf8) }
    /// ```
    package static func members(_ value: String) -> [Substring.UTF8View] {
        value.utf8.split(separator: UInt8(ascii: ",")).compactMap { member in
            var member = member
            while let f = member.first, f == 0x20 || f == 0x09 { member = member.dropFirst() }
            while let l = member.last, l == 0x20 || l == 0x09 { member = member.dropLast() }
            return member.isEmpty ? nil : member
        }
    }

    /// True when `value` has a member equal to `lowercaseToken` in any ASCII case (`Expect:
    /// 100-Continue`, `Connection: keep-alive, Upgrade`).
    ///
    /// ```swift
    /// FieldList.contains("keep-alive, Upgrade", "upgrade")   // true
    /// ```
    package static func contains(_ value: String, _ lowercaseToken: String) -> Bool {
        members(value).contains { member in
            member.count == lowercaseToken.utf8.count
                && member.elementsEqual(lowercaseToken.utf8) { ($0 &- 0x41 < 26 ? $0 | 0x20 : $0) == $1 }
        }
    }
}
