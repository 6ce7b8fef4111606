import Foundation
import SigV4CommandLine
import Testing

extension CLITests {
    /// INI syntax botocore's configparser accepts and the profile parser skipped: keys indented under their
    /// section (an indented line continues a value only after a key line that is indented less), and a UTF-8
    /// byte order mark at the start of the file (which Windows editors write).
    @Suite struct ProfileFileSyntaxTests {
        @Test("indented keys under a section are keys, as configparser reads them; nested blocks stay skipped")
        func indentedKeys() {
            let parsed = ProfileFiles.parse(
                "[default]\n  aws_access_key_id = AKIDINDENTED\n  aws_secret_access_key = s3cr3t\n\n  region = eu-west-1\n"
                    + "[tabbed]\n\taws_access_key_id = AKIDTAB\n\t# comment\n\taws_secret_access_key = tabSecret\n"
                    + "[nested]\ns3 =\n  addressing_style = path\n  aws_access_key_id = NESTED\nregion = us-west-2\n"
                    + "[continued]\naws_access_key_id = AKIDCONT\n  more = text\naws_secret_access_key = contSecret\n"
                    + "[deeper]\n  s3 =\n    addressing_style = path\n  region = ap-south-1\n")
            #expect(
                parsed["default"]
                    == ["aws_access_key_id": "AKIDINDENTED", "aws_secret_access_key": "s3cr3t", "region": "eu-west-1"])
            #expect(parsed["tabbed"] == ["aws_access_key_id": "AKIDTAB", "aws_secret_access_key": "tabSecret"])
            #expect(parsed["nested"] == ["s3": "", "region": "us-west-2"])
            #expect(parsed["continued"] == ["aws_access_key_id": "AKIDCONT", "aws_secret_access_key": "contSecret"])
            #expect(parsed["deeper"] == ["s3": "", "region": "ap-south-1"])
        }

        @Test("a UTF-8 byte order mark before the first section is skipped")
        func byteOrderMark() {
            let parsed = ProfileFiles.parse("\u{FEFF}[default]\r\naws_access_key_id = AKIDBOM\r\n")
            #expect(parsed["default"] == ["aws_access_key_id": "AKIDBOM"])
            #expect(ProfileFiles.parse("\u{FEFF}# note\n[p]\nk = v\n")["p"] == ["k": "v"])
        }

        @Test("sign uses an indented [default] in ~/.aws/credentials")
        func indentedCredentialsFile() throws {
            let (result, json) = try ProfileResolutionTests.sign(
                credentials: "\u{FEFF}[default]\n    aws_access_key_id = AKIDINDENTED\n    aws_secret_access_key = s3cr3t\n",
                config: "", extra: ["--region", "us-east-1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(ProfileResolutionTests.accessKey(json) == "AKIDINDENTED")
        }
    }
}
