#!/usr/bin/env python3
"""Generates Sources/KMSModel/Generated/*.swift from botocore's service models.

The shapes, member names, enums and constraints come straight from the AWS models that botocore
ships, so the Swift types cannot drift from what the AWS CLI sends. Run after changing the list
of operations below:  python3 scripts/generate-model.py
Needs botocore (pip install botocore). The generated files are committed; builds do not run this.
"""
import os
import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Sources", "KMSModel", "Generated")

KMS_OPS = [
    "CreateCustomKeyStore", "DescribeCustomKeyStores", "ConnectCustomKeyStore",
    "DisconnectCustomKeyStore", "UpdateCustomKeyStore", "DeleteCustomKeyStore", "CreateKey",
    "DescribeKey", "ListKeys", "EnableKey", "DisableKey", "ScheduleKeyDeletion",
    "CancelKeyDeletion", "CreateAlias", "DeleteAlias", "ListAliases", "Encrypt", "Decrypt",
    "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom",
    # The rest of the KMS API (issue 14): tags, policies, grants, rotation, aliases, imported key
    # material, multi-Region keys, asymmetric and HMAC keys.
    "TagResource", "UntagResource", "ListResourceTags", "GetKeyPolicy", "PutKeyPolicy",
    "ListKeyPolicies", "CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant",
    "RevokeGrant", "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus",
    "RotateKeyOnDemand", "ListKeyRotations", "UpdateAlias", "UpdateKeyDescription",
    "GetKeyLastUsage", "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
    "ReplicateKey", "UpdatePrimaryRegion", "GetPublicKey", "Sign", "Verify", "GenerateMac",
    "VerifyMac", "DeriveSharedSecret", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
]
HSM_OPS = ["DescribeClusters", "CreateHsm", "DeleteHsm"]
# Enums the rest of the code switches over; emitted as Swift enums even if not reached.
# Shapes whose names collide across the two services.
RENAMES = {"cloudhsmv2": {"Tag": "CloudHsmTag"}}
# Identifier members of input shapes, by model shape, and the typed identifier (Identifiers.swift)
# their generated accessor gives out once the member's AWS constraints passed: the engine's
# operations take these, so an empty or blank ID never reaches a backend.
IDENTIFIERS = {"KeyIdType": "KeyReference", "CustomKeyStoreIdType": "CustomKeyStoreID",
               "AliasNameType": "AliasName", "CloudHsmClusterIdType": "ClusterID",
               "ClusterId": "ClusterID", "HsmId": "HsmID", "XksKeyIdType": "XKSKeyID"}
EXTRA_ENUMS = {"kms": ["ConnectionStateType", "ConnectionErrorCodeType", "KeyState"],
               "cloudhsmv2": ["ClusterState", "HsmState"]}

def lower_first(name):
    # AWSAccountId -> awsAccountId, KeyId -> keyId
    i = 0
    while i < len(name) and name[i].isupper():
        i += 1
    if i == 0:
        return name
    if i == 1 or i == len(name):
        return name[:i].lower() + name[i:]
    return name[: i - 1].lower() + name[i - 1 :]

def case_name(value):
    parts = value.replace("-", "_").replace(".", "_").split("_")
    if value.isupper() or "_" in value:
        s = parts[0].lower() + "".join(p.capitalize() for p in parts[1:])
    else:
        s = value[0].lower() + value[1:]
    if s[0].isdigit():
        s = "v" + s
    if s in ("default", "public", "private", "internal", "enum", "case", "in", "is"):
        s = "`" + s + "`"
    return s

def swift_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

class Gen:
    def __init__(self, model, service):
        self.model = model
        self.service = service
        self.structs = {}   # name -> (shape, is_input)
        self.enums = {}
        self.order = []

    def type_of(self, shape, is_input):
        t = shape.type_name
        if t == "string":
            if shape.enum:
                self.enums[shape.name] = shape
                return "String" if is_input else shape.name
            return "String"
        if t == "integer":
            return "Int"
        if t == "long":
            return "Int64"
        if t == "boolean":
            return "Bool"
        if t == "blob":
            return "Data"
        if t == "timestamp":
            return "Date"
        if t == "list":
            return "[" + self.type_of(shape.member, is_input) + "]"
        if t == "map":
            return "[" + self.type_of(shape.key, is_input) + ": " + self.type_of(shape.value, is_input) + "]"
        if t == "structure":
            self.add_struct(shape, is_input)
            return self.struct_name(shape, is_input)
        raise ValueError(t)

    def struct_name(self, shape, is_input):
        return RENAMES.get(self.service, {}).get(shape.name, shape.name)

    def add_struct(self, shape, is_input):
        key = shape.name
        if key in self.structs:
            prev = self.structs[key]
            self.structs[key] = (shape, prev[1] or is_input)
            return
        self.structs[key] = (shape, is_input)
        self.order.append(key)
        for m in shape.members.values():
            self.type_of(m, is_input)

    def emit_struct(self, name, shape, is_input, rename=None):
        sname = rename or name
        out = []
        doc = "AWS shape `%s` (%s)." % (shape.name, self.service)
        out.append("/// " + doc)
        out.append("public struct %s: Codable, Sendable, Equatable {" % sname)
        members = list(shape.members.items())
        req = set(shape.required_members)
        props = []
        for mname, ms in members:
            t = self.type_of(ms, is_input)
            opt = mname not in req
            props.append((mname, lower_first(mname), t, opt, ms))
        for mname, pname, t, opt, ms in props:
            if ms.type_name == "string" and ms.enum and is_input:
                out.append("  /// One of `%s` (raw value, checked by `validationFailures`)." % ms.name)
            out.append("  public var %s: %s%s" % (pname, t, "?" if opt else ""))
        out.append("")
        if props:
            out.append("  enum CodingKeys: String, CodingKey {")
            for mname, pname, t, opt, ms in props:
                out.append("    case %s = %s" % (pname, swift_string(mname)))
            out.append("  }")
            out.append("")
        args = ", ".join("%s: %s%s" % (p, t + "?" if o else t, " = nil" if o else "") for _, p, t, o, _ in props)
        out.append("  public init(%s) {" % args)
        for _, p, _, _, _ in props:
            out.append("    self.%s = %s" % (p, p))
        out.append("  }")
        # typed accessors for raw enum members of input shapes
        if is_input:
            for mname, pname, t, opt, ms in props:
                if ms.type_name == "string" and ms.enum:
                    out.append("")
                    out.append("  /// `%s` as its enum, or nil when absent or not a valid value." % pname)
                    if opt:
                        out.append("  public var %sValue: %s? { %s.flatMap(%s.init(rawValue:)) }" % (pname, ms.name, pname, ms.name))
                    else:
                        out.append("  public var %sValue: %s? { %s(rawValue: %s) }" % (pname, ms.name, ms.name, pname))
        out.append("}")
        out.append("")
        if not is_input:
            return "\n".join(out)
        # validation (inputs only: outputs are ours, and are checked by tests)
        out.append("extension %s: AWSValidatable {" % sname)
        out.append("  public func validationFailures(at path: String) -> [ValidationFailure] {")
        out.append("    var failures: [ValidationFailure] = []")
        for mname, pname, t, opt, ms in props:
            checks = self.member_checks(ms, 'path + "%s"' % pname, is_input)
            if not checks:
                continue
            if opt:
                out.append("    if let v = %s {" % pname)
            else:
                out.append("    do {")
                out.append("      let v = %s" % pname)
            for c in checks:
                out.append("      " + c)
            out.append("    }")
        if out[-1] == "    var failures: [ValidationFailure] = []":
            out[-1] = "    let failures: [ValidationFailure] = []"
        out.append("    return failures")
        out.append("  }")
        out.append("}")
        out.append("")
        accessors = self.emit_identifier_accessors(sname, props)
        if accessors:
            out.append(accessors)
        return "\n".join(out)

    def member_checks(self, ms, path, is_input):
        """Swift statements checking `v` (one member's value) against its model constraints."""
        md = ms.metadata
        sensitive = bool(md.get("sensitive"))
        checks = []
        tn = ms.type_name
        if tn in ("string", "blob", "list", "map"):
            if "min" in md:
                checks.append("failures.checkLength(%s, min: %d, at: %s, sensitive: %s)" % ("v", md["min"], path, str(sensitive or tn == "blob").lower()))
            if "max" in md:
                checks.append("failures.checkLength(%s, max: %d, at: %s, sensitive: %s)" % ("v", md["max"], path, str(sensitive or tn == "blob").lower()))
        if tn == "string" and "pattern" in md:
            checks.append("failures.checkPattern(v, %s, at: %s, sensitive: %s)" % (swift_string(md["pattern"]), path, str(sensitive).lower()))
        if tn == "string" and ms.enum and is_input:
            checks.append("failures.checkEnum(v, %s.self, at: %s)" % (ms.name, path))
        if tn in ("integer", "long"):
            if "min" in md:
                checks.append("failures.checkRange(v, min: %d, at: %s)" % (md["min"], path))
            if "max" in md:
                checks.append("failures.checkRange(v, max: %d, at: %s)" % (md["max"], path))
        if tn == "structure":
            checks.append('failures += v.validationFailures(at: %s + ".")' % path)
        if tn == "list" and ms.member.type_name == "structure":
            checks.append('for (i, e) in v.enumerated() { failures += e.validationFailures(at: %s + ".\\(i + 1).member.") }' % path)
        if tn == "list" and ms.member.type_name == "string" and ms.member.metadata:
            mm = ms.member.metadata
            inner = []
            if "min" in mm: inner.append("failures.checkLength(e, min: %d, at: %s + \".member\", sensitive: false)" % (mm["min"], path))
            if "max" in mm: inner.append("failures.checkLength(e, max: %d, at: %s + \".member\", sensitive: false)" % (mm["max"], path))
            if inner:
                checks.append("for e in v { " + "; ".join(inner) + " }")
        if tn == "map":
            km, vm = ms.key.metadata, ms.value.metadata
            inner = []
            if "min" in km: inner.append("failures.checkLength(k, min: %d, at: %s + \".key\", sensitive: false)" % (km["min"], path))
            if "max" in km: inner.append("failures.checkLength(k, max: %d, at: %s + \".key\", sensitive: false)" % (km["max"], path))
            if inner:
                checks.append("for k in v.keys { " + "; ".join(inner) + " }")
        return checks

    def emit_identifier_accessors(self, sname, props):
        """Typed identifiers of an input shape's ID members, given out only after their checks."""
        out = []
        for mname, pname, t, opt, ms in props:
            kind = IDENTIFIERS.get(ms.name)
            if kind is None or ms.type_name != "string":
                continue
            out.append("")
            out.append("  /// `%s` as a `%s` once its AWS constraints pass: AWS's ValidationException otherwise," % (pname, kind))
            out.append("  /// and the not-found answer for text without a visible character%s." % ("; nil when absent" if opt else ""))
            out.append("  public var %sValue: %s%s {" % (pname, kind, "?" if opt else ""))
            out.append("    get throws(KMSError) {")
            checks = self.member_checks(ms, swift_string(pname), True)
            if opt:
                out.append("      guard let v = %s else { return nil }" % pname)
            else:
                out.append("      let v = %s" % pname)
            out.append("      %s failures: [ValidationFailure] = []" % ("var" if checks else "let"))
            for c in checks:
                out.append("      " + c)
            out.append("      return try .validated(v, failures)")
            out.append("    }")
            out.append("  }")
        if not out:
            return ""
        return "extension %s {%s\n}\n" % (sname, "\n".join(out))

    def emit_enum(self, shape):
        out = ["/// AWS enum `%s` (%s): exactly the values of the service model." % (shape.name, self.service)]
        out.append("public enum %s: String, Codable, Sendable, CaseIterable, Hashable {" % shape.name)
        for v in shape.enum:
            out.append("  case %s = %s" % (case_name(v), swift_string(v)))
        out.append("}")
        out.append("")
        return "\n".join(out)

def generate(service, ops, filename):
    s = botocore.session.get_session()
    model = s.get_service_model(service)
    g = Gen(model, service)
    renames = {}
    aliases = []
    ops_info = []
    for op_name in ops:
        op = model.operation_model(op_name)
        inp = op.input_shape
        g.add_struct(inp, True)
        renames[inp.name] = op_name + "Request"
        if op.output_shape is not None:
            g.add_struct(op.output_shape, False)
            if op.output_shape.name in renames:
                # Shared output shape (ListGrants and ListRetirableGrants): one struct, two names.
                aliases.append((op_name + "Response", renames[op.output_shape.name]))
            else:
                renames[op.output_shape.name] = op_name + "Response"
            ops_info.append((op_name, op_name + "Request", op_name + "Response", [e.name for e in op.error_shapes]))
        else:
            ops_info.append((op_name, op_name + "Request", None, [e.name for e in op.error_shapes]))
    for e in EXTRA_ENUMS.get(service, []):
        g.enums[e] = model.shape_for(e)
    parts = ["// Generated by scripts/generate-model.py from botocore %s's %s model. Do not edit." % (botocore.__version__, service),
             "// swift-format-ignore-file", "", "import Foundation", ""]
    for name in g.order:
        shape, is_input = g.structs[name]
        parts.append(g.emit_struct(name, shape, is_input, renames.get(name) or g.struct_name(shape, is_input)))
    for name in sorted(g.enums):
        parts.append(g.emit_enum(g.enums[name]))
    for alias, target in aliases:
        parts.append("/// `%s` has the same AWS shape as `%s`.\npublic typealias %s = %s\n" % (alias, target, alias, target))
    # output-only ops: empty responses
    for op_name, req, resp, errs in ops_info:
        if resp is None:
            parts.append("/// `%s` returns an empty JSON object.\npublic struct %sResponse: Codable, Sendable, Equatable {\n  public init() {}\n}\n" % (op_name, op_name))
    # operation catalogue
    enum_name = {"kms": "KMSOperation", "cloudhsmv2": "CloudHSMOperation"}[service]
    parts.append("/// The %s operations this project implements, with the errors the service model lists." % service)
    parts.append("public enum %s: String, Sendable, CaseIterable {" % enum_name)
    for op_name, _, _, _ in ops_info:
        parts.append("  case %s = %s" % (case_name(op_name), swift_string(op_name)))
    parts.append("")
    parts.append("  /// Exception names the service model lists for this operation.")
    parts.append("  public var modeledErrors: [String] {")
    parts.append("    switch self {")
    for op_name, _, _, errs in ops_info:
        parts.append("    case .%s: [%s]" % (case_name(op_name), ", ".join(swift_string(e) for e in errs)))
    parts.append("    }")
    parts.append("  }")
    parts.append("}")
    parts.append("")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, filename), "w") as f:
        f.write("\n".join(parts))

generate("kms", KMS_OPS, "KMSShapes.swift")
generate("cloudhsmv2", HSM_OPS, "CloudHSMShapes.swift")
print("generated into", OUT)
