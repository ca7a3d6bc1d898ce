import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Asks on the controlling terminal (`/dev/tty`), before the dashboard takes the screen.
public enum TerminalPrompt {
  /// `Enter MFA code for SERIAL: ` (the AWS CLI's prompt), the code read from `/dev/tty`.
  @Sendable public static func mfaCode(_ serial: String) async throws -> String {
    guard let tty = fopen("/dev/tty", "r+") else {
      throw AWSCredentialError(
        source: "MFA", message: "no terminal to ask for the MFA code of \(serial) on",
        fix: "run kmsdash from a terminal, or export temporary credentials first")
    }
    defer { fclose(tty) }
    fputs("Enter MFA code for \(serial): ", tty)
    fflush(tty)
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, Int32(buffer.count), tty) != nil else {
      throw AWSCredentialError(source: "MFA", message: "no MFA code was entered")
    }
    let code = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    guard !code.isEmpty else { throw AWSCredentialError(source: "MFA", message: "no MFA code was entered") }
    return code
  }
}
