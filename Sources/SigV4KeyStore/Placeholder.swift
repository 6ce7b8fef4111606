public enum SigV4KeyStorePlaceholder {}
