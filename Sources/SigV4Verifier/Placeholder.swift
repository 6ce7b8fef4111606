public enum SigV4VerifierPlaceholder {}
