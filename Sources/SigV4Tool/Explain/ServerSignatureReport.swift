import Foundation

/// What a server said about a failed signature: S3's `SignatureDoesNotMatch` XML, or a
/// canonical request pasted by the user.
///
/// ```swift
/// let report = ServerSignatureReport(text: """
///     <Error><Code>SignatureDoesNotMatch</Code><CanonicalRequest>GET\n/…</CanonicalRequest>…</Error>
///     """)
/// report.canonicalRequest // "GET\n/…"
/// ```
struct ServerSignatureReport {
    var canonicalRequest: String
    var stringToSign: String?
    var code: String?
    /// The signature the client sent (S3's `<SignatureProvided>`).
    var signatureProvided: String?
    /// The access key id the client signed with (S3's `<AWSAccessKeyId>`).
    var accessKeyID: String?

    init(text raw: String) {
        let text = raw.replacingOccurrencesCRLF()
        if let cr = ServerSignatureReport.element("CanonicalRequestBytes", in: text),
            let bytes = ServerSignatureReport.hexBytes(cr)
        {
            canonicalRequest = TextFormatting.text(keepingBytes: bytes)
        } else if let cr = ServerSignatureReport.element("CanonicalRequest", in: text) {
            canonicalRequest = ServerSignatureReport.unescapeXML(cr)
        } else {
            var t = text
            while t.hasSuffix("\n") { t.removeLast() }
            canonicalRequest = t
        }
        if let bytes = ServerSignatureReport.element("StringToSignBytes", in: text).flatMap(
            ServerSignatureReport.hexBytes)
        {
            stringToSign = TextFormatting.text(keepingBytes: bytes)
        } else {
            stringToSign = ServerSignatureReport.element("StringToSign", in: text).map(
                ServerSignatureReport.unescapeXML)
        }
        code = ServerSignatureReport.element("Code", in: text)
        signatureProvided = ServerSignatureReport.element("SignatureProvided", in: text)
        accessKeyID = ServerSignatureReport.element("AWSAccessKeyId", in: text).map(ServerSignatureReport.unescapeXML)
    }

    /// The x-amz-date the server saw, from its canonical request or string to sign.
    var amzDate: String? {
        for line in canonicalRequest.split(separator: "\n") where line.lowercased().hasPrefix("x-amz-date:") {
            return String(line.dropFirst("x-amz-date:".count))
        }
        if let sts = stringToSign {
            let lines = sts.split(separator: "\n")
            if lines.count >= 2 { return String(lines[1]) }
        }
        return nil
    }

    static func element(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>"),
            open.upperBound <= close.lowerBound
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard token.count == 2, let b = UInt8(token, radix: 16) else { return nil }
            out.append(b)
        }
        return out.isEmpty ? nil : out
    }

    static func unescapeXML(_ s: String) -> String {
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            guard let semi = rest.firstIndex(of: ";"), rest.distance(from: rest.startIndex, to: semi) <= 10 else {
                out += "&"
                rest = rest.dropFirst()
                continue
            }
            let entity = rest[rest.index(after: rest.startIndex)..<semi]
            var replacement: String?
            switch entity {
            case "amp": replacement = "&"
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) {
                    replacement = String(Character(u))
                } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) {
                    replacement = String(Character(u))
                }
            }
            if let replacement {
                out += replacement
                rest = rest[rest.index(after: semi)...]
            } else {
                out += "&"
                rest = rest.dropFirst()
            }
        }
        return out + rest
    }
}

extension String {
    fileprivate func replacingOccurrencesCRLF() -> String {
        String(decoding: Array(utf8).filter { $0 != 0x0d }, as: UTF8.self)
    }
}
