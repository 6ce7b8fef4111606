import ArgumentParser

/// The `sigv4` command: sign, presign, verify and debug AWS Signature Version 4 requests.
@main
struct SigV4Tool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigv4",
        abstract: "Sign, presign, verify and debug AWS Signature Version 4 requests.",
        discussion: """
            Examples:
              sigv4 sign https://examplebucket.s3.amazonaws.com/test.txt --region us-east-1 --service s3
              sigv4 curl --region us-east-1 --service execute-api -- https://api.example.com/items
              sigv4 verify --request captured.http --access-key-id AKID --secret-access-key …
              sigv4 demo
            """,
        subcommands: [
            Sign.self, Presign.self, Curl.self, Explain.self, Verify.self, Keys.self, Serve.self, Demo.self,
            InteropRequest.self,
        ]
    )
}
