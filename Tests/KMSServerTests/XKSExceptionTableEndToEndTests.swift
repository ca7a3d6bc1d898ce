import Foundation
import Testing

/// The XKS spec's "proxy failures as KMS errors" table, every row reached by a real fault of a
/// running `kmsdash xks-proxy` (HTTPS, its generated CA trusted by `serve --xks-ca-file`) and
/// asserted through boto3 against `kmsdash serve`: the exception name AND AWS's message, for
/// Create/UpdateCustomKeyStore (GetHealthStatus), CreateKey (GetKeyMetadata) and the crypto
/// operations (Encrypt, Decrypt, GenerateDataKey, ReEncrypt). Faults are set through the proxy's
/// control endpoint (`/kmsdash/faults`, what `kmsdash fault --xks-proxy` sends).
@Suite(
  "XKS exception table end to end", .serialized,
  .enabled(if: Conformance.enabled, Comment(rawValue: Conformance.installHint)))
struct XKSExceptionTableEndToEndTests {
  @Test("every proxy outcome of the table, for Create/Update, CreateKey and crypto, by name and message")
  func everyRowOfTheExceptionTable() async throws {
    try Conformance.requireTools()
    let proxy = try await XKSProxyProcess(tls: true)
    defer { proxy.stop() }
    let ca = try #require(proxy.caPath, "the HTTPS proxy printed no CA file")
    // Three host names for one proxy: a store per endpoint, and creates that must not collide.
    let routes = ["xks.kmsdash.test", "xks2.kmsdash.test", "xks3.kmsdash.test"].flatMap {
      ["--xks-route", "\($0)=\(proxy.url)"]
    }
    // A 2 s bound instead of KMS's 250 ms: the rows are about which failure KMS reports, and a
    // TLS handshake on a loaded test machine (the suite runs in parallel) can pass 250 ms and turn
    // a certificate row into a timeout. The timeout row waits 2.5 s, past the bound.
    let server = try await ServerProcess(
      arguments: routes + ["--xks-ca-file", ca, "--xks-timeout-ms", "2000"])
    defer { server.stop() }
    let output = try await server.python(
      "PROXY = \(String(reflecting: proxy.url))\nPROXY_CA = \(String(reflecting: ca))\n" + Self.script,
      name: "xks-table")
    #expect(
      output.status == 0,
      "python exit \(output.status)\n\(output.stdout)\n\(output.stderr)\n\(proxy.log.suffix(3000))")
    // Every row ran: the script prints one line per assertion group and a closing count.
    #expect(output.stdout.contains("exception table: all rows ok"), "\(output.stdout)")
  }

  /// The table, as data: AWS's messages typed out here (not taken from the engine), each proxy
  /// outcome with the fault that causes it and the exception each kind of call must raise.
  static let script = #"""
    import socket, ssl, urllib.request, urllib.parse

    CREDENTIAL = {"AccessKeyId": "KMSDASHDEMOXKSACCESSKEY2",
                  "RawSecretAccessKey": "kmsdashDemoXksSecretKey0123456789abcdefghijk"}
    PATH = "/demo/kms/xks/v1"

    M = {
        "interpret": "AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator.",
        "internal": "The external key store proxy rejected the request because it cannot communicate with the external key manager. Verify that the external key store proxy configuration is correct and that the external key manager is available.",
        "not_enabled": "The external key associated with this KMS key in an external key store is not enabled in the external key manager. Enable the external key in the external key manager and retry the request.",
        "usage": "The external key associated with this KMS key in an external key store does not support the requested operation. Enable the operation on the key in your external key manager, and try the request again.",
        "ciphertext": "The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.",
        "auth": "The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XKS proxy authentication credentials for your external key store and update if necessary.",
        "denied": "The external key store proxy denied access to the operation. Verify that the user and the external key are both authorized for this operation, and try the request again.",
        "key_not_found": "The external key associated with this KMS key in an external key store was not found in its external key manager. If the external key ID associated with this KMS key is incorrect, create a new KMS key with the correct external key ID.",
        "uri_path": "The external key store proxy rejected the request because of an invalid URI path. Verify the URI path for your external key store and update if necessary.",
        "unsupported": "The external key store proxy rejected the request because it does not support the requested operation. If you see this error repeatedly, report it to your external key store proxy administrator.",
        "dependency_timeout": "The external key store proxy did not respond to the request in the time allotted. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator.",
        "throttling": "The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls using KMS keys in this external key store.",
        "no_tcp": "AWS KMS cannot communicate with the external key store proxy. This might be a transient network issue. If you see this error repeatedly, verify that your external key store proxy is active and is connected to the network, and that its endpoint URI is correct in your external keystore.",
        "no_tls": "AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration, including its certificate.",
        "socket_timeout": "AWS KMS rejected the request because the external key store proxy did not respond in time. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator.",
        "not_connected": "This KMS key is in a custom key store that is not connected to its external key store proxy. Connect the external key store and try the request again.",
    }

    STORE_INVALID = "CustomKeyStoreInvalidStateException"
    CRYPTO = "KMSInvalidStateException"
    ALL = ("store", "createkey", "encrypt", "decrypt")
    # (outcome, fault patch, which calls it applies to, Create/Update exception, CreateKey exception,
    #  message key). Crypto calls always raise KMSInvalidStateException. Rows marked "-" in the spec
    # for Create/Update (errorNames GetHealthStatus never answers) are answers KMS cannot interpret.
    ROWS = [
        ("ValidationException", {"errorName": "ValidationException"}, ALL,
         "XksProxyInvalidResponseException", STORE_INVALID, "interpret"),
        ("InternalException", {"errorName": "InternalException"}, ALL,
         "XksProxyInvalidResponseException", STORE_INVALID, "internal"),
        ("malformed answer: HTML", {"malformed": "HTML"}, ALL,
         "XksProxyInvalidResponseException", STORE_INVALID, "interpret"),
        ("malformed answer: truncated JSON", {"malformed": "TRUNCATED_JSON"}, ALL,
         "XksProxyInvalidResponseException", STORE_INVALID, "interpret"),
        ("malformed answer: missing field", {"malformed": "MISSING_FIELD"}, ALL,
         "XksProxyInvalidResponseException", STORE_INVALID, "interpret"),
        ("malformed answer: wrong types", {"malformed": "WRONG_TYPES"}, ALL,
         "XksProxyInvalidResponseException", STORE_INVALID, "interpret"),
        ("malformed answer: wrong tag length", {"malformed": "WRONG_TAG_LENGTH"}, ("encrypt",),
         None, None, "interpret"),
        ("InvalidStateException", {"errorName": "InvalidStateException"}, ALL,
         "XksProxyInvalidResponseException", "XksKeyInvalidConfigurationException", "not_enabled"),
        ("InvalidKeyUsageException", {"errorName": "InvalidKeyUsageException"}, ALL,
         "XksProxyInvalidResponseException", "XksKeyInvalidConfigurationException", "usage"),
        ("InvalidCiphertextException", {"errorName": "InvalidCiphertextException"}, ("decrypt",),
         None, None, "ciphertext"),
        ("AuthenticationFailedException", {"errorName": "AuthenticationFailedException"}, ALL,
         "XksProxyIncorrectAuthenticationCredentialException", STORE_INVALID, "auth"),
        ("AccessDeniedException", {"errorName": "AccessDeniedException"}, ALL,
         "XksProxyInvalidResponseException", CRYPTO, "denied"),
        ("KeyNotFoundException", {"errorName": "KeyNotFoundException"}, ALL,
         "XksProxyInvalidResponseException", "XksKeyNotFoundException", "key_not_found"),
        ("InvalidUriPathException", {"errorName": "InvalidUriPathException"}, ALL,
         "XksProxyInvalidConfigurationException", STORE_INVALID, "uri_path"),
        ("UnsupportedOperationException", {"errorName": "UnsupportedOperationException"}, ALL,
         "XksProxyInvalidResponseException", "XksKeyInvalidResponseException", "unsupported"),
        ("DependencyTimeoutException", {"errorName": "DependencyTimeoutException"}, ALL,
         "XksProxyUriUnreachableException", STORE_INVALID, "dependency_timeout"),
        ("ThrottlingException", {"errorName": "ThrottlingException"}, ALL,
         "XksProxyUriUnreachableException", STORE_INVALID, "throttling"),
        ("no TCP connection", {"refuseConnections": True}, ALL,
         "XksProxyUriUnreachableException", STORE_INVALID, "no_tcp"),
        ("no TLS connection: expired certificate", {"certificate": "EXPIRED"}, ALL,
         "XksProxyUriUnreachableException", STORE_INVALID, "no_tls"),
        ("no TLS connection: certificate for another name", {"certificate": "WRONG_NAME"}, ALL,
         "XksProxyUriUnreachableException", STORE_INVALID, "no_tls"),
        ("socket timeout (2.5 s > the 2 s bound of this serve)", {"latencyMilliseconds": 2500}, ALL,
         "XksProxyUriUnreachableException", STORE_INVALID, "socket_timeout"),
        # Real conditions of the external key manager, not injected errorNames.
        ("external key disabled in the EKM", {"disabledKeys": ["demo-aes-1", "demo-aes-2"]},
         ("createkey", "encrypt", "decrypt"), None, "XksKeyInvalidConfigurationException", "not_enabled"),
        ("secondary authorization denies every principal", {"deniedPrincipals": ["*"]},
         ("createkey", "encrypt", "decrypt"), None, CRYPTO, "denied"),
        ("every EKM UNAVAILABLE", {"ekmHealth": "UNAVAILABLE"}, ("encrypt", "decrypt"),
         None, None, "internal"),
    ]

    # errorNames the spec gives no Create/Update entry ("-"): GetHealthStatus never answers them,
    # so KMS cannot interpret them, whatever they would mean for a key.
    NO_STORE_ENTRY = {"InvalidStateException", "InvalidKeyUsageException", "AccessDeniedException",
                      "KeyNotFoundException", "UnsupportedOperationException"}

    UNVERIFIED = ssl._create_unverified_context()
    OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=UNVERIFIED))

    def control(path, body):
        # The control endpoint takes no credential; unverified so a certificate fault can be cleared.
        request = urllib.request.Request(PROXY + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with OPENER.open(request, timeout=10) as answer:
            return json.loads(answer.read() or b"{}")

    def certificate_verifies():
        url = urllib.parse.urlsplit(PROXY)
        context = ssl.create_default_context(cafile=PROXY_CA)
        try:
            with socket.create_connection((url.hostname, url.port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname=url.hostname):
                    return True
        except ssl.SSLCertVerificationError:
            return False
        except OSError:
            return None  # a connection the certificate swap closed mid-handshake: ask again

    def wait_certificate(verifies):
        # The proxy swaps its certificate in the background (and closes open connections).
        deadline = time.time() + 30
        while time.time() < deadline:
            if certificate_verifies() == verifies:
                return
            time.sleep(0.05)
        raise AssertionError(f"the proxy's certificate never became {'valid' if verifies else 'invalid'}")

    current = {}
    def set_faults(patch):
        control("/kmsdash/faults/clear", {})
        if "certificate" in current:
            wait_certificate(True)
        current.clear()
        if patch:
            answer = control("/kmsdash/faults", patch)
            for name, value in patch.items():
                assert answer.get(name) == value, (patch, answer)
            current.update(patch)
            if "certificate" in patch:
                wait_certificate(False)

    checked = []
    def expect(label, code, message_key, fn, **kwargs):
        err = expect_error(code, fn, **kwargs)
        got = err.response["Error"]["Message"]
        assert got == M[message_key], f"{label}: {code} with message {got!r}, expected {M[message_key]!r}"
        checked.append(label)

    def create(name, host="xks3.kmsdash.test", **change):
        params = dict(CustomKeyStoreName=name, CustomKeyStoreType="EXTERNAL_KEY_STORE",
                      XksProxyUriEndpoint=f"https://{host}", XksProxyUriPath=PATH,
                      XksProxyConnectivity="PUBLIC_ENDPOINT", XksProxyAuthenticationCredential=CREDENTIAL)
        params.update(change)
        return kms.create_custom_key_store(**params)

    # A CONNECTED store with a key and blobs made before any fault; a DISCONNECTED one to update.
    set_faults(None)
    store_id = create("xks-table", host="xks.kmsdash.test")["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    wait_state(store_id, "CONNECTED")
    key_id = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id,
                            XksKeyId="demo-aes-1")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"table", EncryptionContext={"row": "all"})["CiphertextBlob"]
    idle_id = create("xks-table-idle", host="xks2.kmsdash.test")["CustomKeyStoreId"]
    assert store(idle_id)["ConnectionState"] == "DISCONNECTED"

    def encrypt_calls():
        return [("Encrypt", kms.encrypt, dict(KeyId=key_id, Plaintext=b"x")),
                ("GenerateDataKey", kms.generate_data_key, dict(KeyId=key_id, KeySpec="AES_256")),
                ("GenerateDataKeyWithoutPlaintext", kms.generate_data_key_without_plaintext,
                 dict(KeyId=key_id, NumberOfBytes=32))]

    def decrypt_calls():
        return [("Decrypt", kms.decrypt, dict(CiphertextBlob=blob, EncryptionContext={"row": "all"})),
                ("ReEncrypt", kms.re_encrypt, dict(CiphertextBlob=blob, SourceEncryptionContext={"row": "all"},
                                                   DestinationKeyId=key_id))]

    def warm_connections(number):
        # The timeout row must time out waiting for the answer, not in a TLS handshake that a
        # loaded machine slows past 250 ms: the certificate rows closed every connection, so
        # one healthy call per proxy host first leaves a kept-alive connection for each.
        set_faults(None)
        warm = create(f"table-warm-{number}")["CustomKeyStoreId"]
        kms.delete_custom_key_store(CustomKeyStoreId=warm)  # frees its endpoint for the row
        kms.update_custom_key_store(CustomKeyStoreId=idle_id, XksProxyUriPath=PATH,
                                    XksProxyAuthenticationCredential=CREDENTIAL)
        kms.encrypt(KeyId=key_id, Plaintext=b"warm")

    for number, (outcome, patch, applies, store_code, createkey_code, message_key) in enumerate(ROWS):
        if patch and "latencyMilliseconds" in patch:
            warm_connections(number)
        set_faults(patch)
        if "store" in applies:
            store_message = "interpret" if outcome in NO_STORE_ENTRY else message_key
            expect(f"{outcome} / CreateCustomKeyStore", store_code, store_message,
                   create, name=f"table-{number}")
            expect(f"{outcome} / UpdateCustomKeyStore", store_code, store_message,
                   kms.update_custom_key_store, CustomKeyStoreId=idle_id, XksProxyUriPath=PATH,
                   XksProxyAuthenticationCredential=CREDENTIAL)
        if "createkey" in applies:
            expect(f"{outcome} / CreateKey", createkey_code, message_key, kms.create_key,
                   Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="demo-aes-2")
        if "encrypt" in applies:
            for name, fn, kwargs in encrypt_calls():
                expect(f"{outcome} / {name}", CRYPTO, message_key, fn, **kwargs)
        if "decrypt" in applies:
            for name, fn, kwargs in decrypt_calls():
                expect(f"{outcome} / {name}", CRYPTO, message_key, fn, **kwargs)
        # A dead or failing proxy leaves the store CONNECTED: only the calls fail.
        assert store(store_id)["ConnectionState"] == "CONNECTED", (outcome, store(store_id))
        print(f"row ok: {outcome}", flush=True)
    set_faults(None)

    # The real proxy's own answers (no fault): a wrong credential, an unknown prefix, unknown or
    # unusable external keys, a wrong encryption context.
    expect("wrong secret / CreateCustomKeyStore", "XksProxyIncorrectAuthenticationCredentialException", "auth",
           create, name="table-secret",
           XksProxyAuthenticationCredential=dict(CREDENTIAL, RawSecretAccessKey="w" * 43))
    expect("wrong secret / UpdateCustomKeyStore", "XksProxyIncorrectAuthenticationCredentialException", "auth",
           kms.update_custom_key_store, CustomKeyStoreId=idle_id,
           XksProxyAuthenticationCredential=dict(CREDENTIAL, RawSecretAccessKey="w" * 43))
    expect("unknown prefix / CreateCustomKeyStore", "XksProxyInvalidConfigurationException", "uri_path",
           create, name="table-prefix", XksProxyUriPath="/nope/kms/xks/v1")
    expect("unknown prefix / UpdateCustomKeyStore", "XksProxyInvalidConfigurationException", "uri_path",
           kms.update_custom_key_store, CustomKeyStoreId=idle_id, XksProxyUriPath="/nope/kms/xks/v1")
    for xks_key_id, code, message_key in [
            ("no-such-key", "XksKeyNotFoundException", "key_not_found"),
            ("demo-disabled", "XksKeyInvalidConfigurationException", "not_enabled"),
            ("demo-encrypt-only", "XksKeyInvalidConfigurationException", "usage"),
            ("demo-decrypt-only", "XksKeyInvalidConfigurationException", "usage"),
            ("demo-no-usage", "XksKeyInvalidConfigurationException", "usage")]:
        expect(f"{xks_key_id} / CreateKey", code, message_key, kms.create_key, Origin="EXTERNAL_KEY_STORE",
               CustomKeyStoreId=store_id, XksKeyId=xks_key_id)
    expect("wrong encryption context / Decrypt", CRYPTO, "ciphertext", kms.decrypt, CiphertextBlob=blob,
           EncryptionContext={"row": "other"})
    expect("wrong encryption context / ReEncrypt", CRYPTO, "ciphertext", kms.re_encrypt, CiphertextBlob=blob,
           SourceEncryptionContext={"row": "other"}, DestinationKeyId=key_id)

    # Store not CONNECTED.
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    wait_state(store_id, "DISCONNECTED")
    expect("store not connected / CreateKey", STORE_INVALID, "not_connected", kms.create_key,
           Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="demo-aes-2")
    for name, fn, kwargs in encrypt_calls() + decrypt_calls():
        expect(f"store not connected / {name}", CRYPTO, "not_connected", fn, **kwargs)

    # Healed: everything works again.
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    wait_state(store_id, "CONNECTED")
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"row": "all"})["Plaintext"] == b"table"
    kms.update_custom_key_store(CustomKeyStoreId=idle_id, XksProxyUriPath=PATH)
    print(f"{len(checked)} assertions")
    print("exception table: all rows ok")
    """#
}
