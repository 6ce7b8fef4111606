/// Infers the signing region and service from an AWS endpoint host name.
///
/// ```swift
/// HostInference.infer("examplebucket.s3.us-west-2.amazonaws.com") // (region: "us-west-2", service: "s3")
/// HostInference.infer("abc.execute-api.eu-west-1.amazonaws.com")  // (region: "eu-west-1", service: "execute-api")
/// HostInference.infer("b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com") // (us-west-2, s3express)
/// HostInference.infer("example.com")                              // nil
/// ```
enum HostInference {
    struct Result: Equatable {
        var region: String?
        var service: String?
    }

    /// Endpoint prefixes whose signing name differs from the prefix.
    static let signingNames: [String: String] = [
        "s3-accesspoint": "s3", "s3-control": "s3", "s3-website": "s3", "s3-fips": "s3",
        "s3-object-lambda": "s3-object-lambda", "email": "ses", "runtime.sagemaker": "sagemaker",
        "runtime-v2-lex": "lex", "data.iot": "iotdata", "monitoring": "monitoring",
    ]

    /// Services whose global endpoint signs in us-east-1.
    static let globalServices: Set<String> = ["s3", "iam", "sts", "cloudfront", "route53", "organizations"]

    static func isRegion(_ label: Substring) -> Bool {
        // e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-iso-east-1, ap-southeast-4
        let parts = label.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let last = parts.last, !last.isEmpty, last.allSatisfy(\.isNumber) else {
            return false
        }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLetter && $0.isASCII } }
            && parts[0].count == 2
    }

    /// The region and service for an `*.amazonaws.com` (or `.amazonaws.com.cn`) host, else nil.
    static func infer(_ hostName: String) -> Result? {
        let host = hostName.lowercased()
        let suffixes = [".amazonaws.com.cn", ".amazonaws.com", ".api.aws", ".on.aws"]
        guard let suffix = suffixes.first(where: { host.hasSuffix($0) }) else { return nil }
        let labels = host.dropLast(suffix.count).split(separator: ".")
        guard !labels.isEmpty else { return nil }

        if suffix == ".on.aws" {  // Lambda function URLs: <id>.lambda-url.<region>.on.aws
            if labels.count >= 3, labels[labels.count - 2] == "lambda-url" {
                return Result(region: String(labels[labels.count - 1]), service: "lambda")
            }
            return nil
        }
        // Legacy S3 forms: s3-us-west-2, s3-external-1, bucket.s3-us-west-2
        for (i, label) in labels.enumerated() where label.hasPrefix("s3-") {
            let rest = label.dropFirst(3)
            if isRegion(rest) { return Result(region: String(rest), service: "s3") }
            if rest == "external-1" { return Result(region: "us-east-1", service: "s3") }
            _ = i
        }
        if let r = labels.lastIndex(where: isRegion) {
            let region = String(labels[r])
            if r + 1 < labels.count {  // <domain>.<region>.es.amazonaws.com
                return Result(region: region, service: signingName(labels[r + 1]))
            }
            var s = r - 1
            while s >= 0, ["dualstack", "fips"].contains(labels[s]) { s -= 1 }
            guard s >= 0 else { return Result(region: region, service: nil) }
            if s >= 1, signingNames["\(labels[s - 1]).\(labels[s])"] != nil {
                return Result(region: region, service: signingName("\(labels[s - 1]).\(labels[s])"))
            }
            return Result(region: region, service: signingName(labels[s]))
        }
        // Global endpoints: s3.amazonaws.com, bucket.s3.amazonaws.com, sts.amazonaws.com, iam.amazonaws.com
        let last = labels[labels.count - 1]
        let service = signingName(last)
        if globalServices.contains(service) { return Result(region: "us-east-1", service: service) }
        return Result(region: nil, service: service)
    }

    static func signingName(_ label: some StringProtocol) -> String {
        // S3 Express One Zone: a directory bucket's zonal endpoint (s3express-usw2-az1) and the
        // regional control endpoint (s3express-control) both sign as s3express.
        if label == "s3express" || label.hasPrefix("s3express-") { return "s3express" }
        return signingNames[String(label)] ?? String(label)
    }
}
