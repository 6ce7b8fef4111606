// The libFuzzer entry shared by every target in this package: each target's `main.swift` defines its
// `LLVMFuzzerTestOneInput` function and calls `runFuzzer(_:)` with it.
import Glibc

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with this process's arguments, calling `testOneInput` for each input, and exits with
/// libFuzzer's status.
///
/// ```swift
/// @_cdecl("LLVMFuzzerTestOneInput")
/// public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { …; return 0 }
/// runFuzzer(fuzzOne)
/// ```
public func runFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
