// HummingbirdSigV4: the verification middleware lands with the verifier (see Docs/Gateway.md).
