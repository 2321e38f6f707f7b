//! The system's GSSAPI (RFC 2743/2744), MIT's `libgssapi_krb5.so.2`,
//! loaded at run time and wrapped in safe handles.
//!
//! Why run time: the `libgssapi` crate generates its bindings with bindgen
//! (libclang and the krb5 headers at build time) and links the library, so
//! every zk-bin would need it even without Kerberos configured. Here the
//! library is opened the first time a GSSAPI mechanism is created; when it
//! is missing that creation fails with a [`SaslException`] naming it, and
//! a server configured for Kerberos refuses to start (fail closed).
//!
//! Only the calls RFC 4752 needs are bound: names, credentials (through
//! MIT's `gss_acquire_cred_from`, so a keytab or ticket cache is chosen per
//! credential rather than through process-wide environment variables),
//! context establishment, wrap and unwrap. Every `unsafe` block is here.

use super::SaslException;
use std::ffi::{c_char, c_int, c_void, CString};
use std::ptr;
use std::sync::OnceLock;

/// The library opened, by its soname (Debian package libgssapi-krb5-2).
pub const GSSAPI_LIBRARY: &str = "libgssapi_krb5.so.2";

type OmUint32 = u32;

#[repr(C)]
struct BufferDesc {
    length: usize,
    value: *mut c_void,
}

#[repr(C)]
struct OidDesc {
    length: OmUint32,
    elements: *mut c_void,
}

#[repr(C)]
struct OidSetDesc {
    count: usize,
    elements: *mut OidDesc,
}

#[repr(C)]
struct KeyValueElement {
    key: *const c_char,
    value: *const c_char,
}

#[repr(C)]
struct KeyValueSet {
    count: OmUint32,
    elements: *mut KeyValueElement,
}

type Handle = *mut c_void;

/// DER bodies of the OIDs used: the Kerberos V5 mechanism
/// (1.2.840.113554.1.2.2), its principal name type (…2.2.1) and the
/// host-based service name type (GSS_C_NT_HOSTBASED_SERVICE, …2.1.4).
const KRB5_MECHANISM: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const HOSTBASED_SERVICE: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
const KRB5_PRINCIPAL_NAME: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];

const GSS_S_COMPLETE: OmUint32 = 0;
const GSS_S_CONTINUE_NEEDED: OmUint32 = 1;
const GSS_C_GSS_CODE: c_int = 1;
const GSS_C_MECH_CODE: c_int = 2;
const GSS_C_MUTUAL_FLAG: OmUint32 = 2;
const GSS_C_CONF_FLAG: OmUint32 = 16;
const GSS_C_INTEG_FLAG: OmUint32 = 32;
const GSS_C_INDEFINITE: OmUint32 = 0xffff_ffff;

/// Whether a credential initiates (a client) or accepts (a server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialUsage {
    /// GSS_C_INITIATE: a client's ticket.
    Initiate,
    /// GSS_C_ACCEPT: a service's keytab.
    Accept,
}

type ImportName =
    unsafe extern "C" fn(*mut OmUint32, *mut BufferDesc, *mut OidDesc, *mut Handle) -> OmUint32;
type DisplayName =
    unsafe extern "C" fn(*mut OmUint32, Handle, *mut BufferDesc, *mut *mut OidDesc) -> OmUint32;
type ReleaseHandle = unsafe extern "C" fn(*mut OmUint32, *mut Handle) -> OmUint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OmUint32, *mut BufferDesc) -> OmUint32;
type AcquireCredFrom = unsafe extern "C" fn(
    *mut OmUint32,
    Handle,
    OmUint32,
    *mut OidSetDesc,
    c_int,
    *const KeyValueSet,
    *mut Handle,
    *mut *mut OidSetDesc,
    *mut OmUint32,
) -> OmUint32;
type InitSecContext = unsafe extern "C" fn(
    *mut OmUint32,
    Handle,
    *mut Handle,
    Handle,
    *mut OidDesc,
    OmUint32,
    OmUint32,
    *mut c_void,
    *mut BufferDesc,
    *mut *mut OidDesc,
    *mut BufferDesc,
    *mut OmUint32,
    *mut OmUint32,
) -> OmUint32;
type AcceptSecContext = unsafe extern "C" fn(
    *mut OmUint32,
    *mut Handle,
    Handle,
    *mut BufferDesc,
    *mut c_void,
    *mut Handle,
    *mut *mut OidDesc,
    *mut BufferDesc,
    *mut OmUint32,
    *mut OmUint32,
    *mut Handle,
) -> OmUint32;
type DeleteSecContext =
    unsafe extern "C" fn(*mut OmUint32, *mut Handle, *mut BufferDesc) -> OmUint32;
type Wrap = unsafe extern "C" fn(
    *mut OmUint32,
    Handle,
    c_int,
    OmUint32,
    *mut BufferDesc,
    *mut c_int,
    *mut BufferDesc,
) -> OmUint32;
type Unwrap = unsafe extern "C" fn(
    *mut OmUint32,
    Handle,
    *mut BufferDesc,
    *mut BufferDesc,
    *mut c_int,
    *mut OmUint32,
) -> OmUint32;
type DisplayStatus = unsafe extern "C" fn(
    *mut OmUint32,
    OmUint32,
    c_int,
    *mut OidDesc,
    *mut OmUint32,
    *mut BufferDesc,
) -> OmUint32;

/// The opened library and the entry points taken from it; kept for the
/// life of the process (never closed, so the pointers stay valid).
struct Library {
    _library: libloading::Library,
    import_name: ImportName,
    display_name: DisplayName,
    release_name: ReleaseHandle,
    release_cred: ReleaseHandle,
    release_buffer: ReleaseBuffer,
    acquire_cred_from: AcquireCredFrom,
    init_sec_context: InitSecContext,
    accept_sec_context: AcceptSecContext,
    delete_sec_context: DeleteSecContext,
    wrap: Wrap,
    unwrap: Unwrap,
    display_status: DisplayStatus,
}

static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();

fn open() -> Result<Library, String> {
    // SAFETY: opening MIT's GSSAPI runs its library initialisers, which
    // only set up its own state (error tables, mutexes); it has no
    // initialiser with preconditions on the calling program.
    let library = unsafe { libloading::Library::new(GSSAPI_LIBRARY) }.map_err(|e| {
        format!("GSSAPI library {GSSAPI_LIBRARY} could not be loaded (install Debian's libgssapi-krb5-2): {e}")
    })?;
    macro_rules! symbol {
        ($name:literal) => {
            // SAFETY: the type given is the prototype of this function in
            // MIT's <gssapi/gssapi.h> / <gssapi/gssapi_ext.h> (RFC 2744's C
            // bindings), and the copied pointer is used only while
            // `_library` (stored beside it, never dropped) keeps it mapped.
            *unsafe { library.get($name) }.map_err(|e| {
                format!(
                    "GSSAPI library {GSSAPI_LIBRARY} lacks {}: {e}",
                    String::from_utf8_lossy(&$name[..$name.len() - 1])
                )
            })?
        };
    }
    Ok(Library {
        import_name: symbol!(b"gss_import_name\0"),
        display_name: symbol!(b"gss_display_name\0"),
        release_name: symbol!(b"gss_release_name\0"),
        release_cred: symbol!(b"gss_release_cred\0"),
        release_buffer: symbol!(b"gss_release_buffer\0"),
        acquire_cred_from: symbol!(b"gss_acquire_cred_from\0"),
        init_sec_context: symbol!(b"gss_init_sec_context\0"),
        accept_sec_context: symbol!(b"gss_accept_sec_context\0"),
        delete_sec_context: symbol!(b"gss_delete_sec_context\0"),
        wrap: symbol!(b"gss_wrap\0"),
        unwrap: symbol!(b"gss_unwrap\0"),
        display_status: symbol!(b"gss_display_status\0"),
        _library: library,
    })
}

fn library() -> Result<&'static Library, SaslException> {
    LIBRARY
        .get_or_init(open)
        .as_ref()
        .map_err(|e| SaslException::new(e.clone()))
}

/// Whether the GSSAPI library can be loaded here; `Err` names why not.
pub fn available() -> Result<(), SaslException> {
    library().map(|_| ())
}

/// The krb5.conf to hand MIT's library through `KRB5_CONFIG`, which it
/// reads instead of `/etc/krb5.conf`: the JDK's `java.security.krb5.conf`
/// (set in `SERVER_JVMFLAGS` for 3.8), unless `KRB5_CONFIG` is already
/// set. None: nothing to export. The server exports it at startup while
/// it is still one thread (the environment is process-wide).
pub fn krb5_config_to_export(props: &crate::SystemProperties) -> Option<String> {
    if std::env::var_os("KRB5_CONFIG").is_some() {
        return None;
    }
    props.get("java.security.krb5.conf").map(str::to_string)
}

fn krb5_mechanism() -> OidDesc {
    OidDesc {
        length: KRB5_MECHANISM.len() as OmUint32,
        elements: KRB5_MECHANISM.as_ptr() as *mut c_void,
    }
}

fn borrowed_buffer(bytes: &[u8]) -> BufferDesc {
    BufferDesc {
        length: bytes.len(),
        value: bytes.as_ptr() as *mut c_void,
    }
}

fn empty_buffer() -> BufferDesc {
    BufferDesc {
        length: 0,
        value: ptr::null_mut(),
    }
}

impl Library {
    /// Copies a buffer the library allocated and frees it.
    fn take_buffer(&self, buffer: &mut BufferDesc) -> Vec<u8> {
        let bytes = if buffer.value.is_null() || buffer.length == 0 {
            Vec::new()
        } else {
            // SAFETY: the library filled `buffer` with `length` readable
            // bytes at `value`, which stay valid until released below.
            unsafe { std::slice::from_raw_parts(buffer.value as *const u8, buffer.length) }.to_vec()
        };
        let mut minor = 0;
        // SAFETY: `buffer` was allocated by this library (or is empty,
        // which gss_release_buffer accepts).
        unsafe { (self.release_buffer)(&mut minor, buffer) };
        bytes
    }

    /// The library's text for one status code (major or minor).
    fn status_text(&self, code: OmUint32, kind: c_int) -> String {
        let mut parts = Vec::new();
        let mut context: OmUint32 = 0;
        let mut mech = krb5_mechanism();
        loop {
            let mut minor = 0;
            let mut text = empty_buffer();
            // SAFETY: all pointers are to live locals; the output buffer is
            // taken (copied and released) right after.
            let major = unsafe {
                (self.display_status)(&mut minor, code, kind, &mut mech, &mut context, &mut text)
            };
            if major != GSS_S_COMPLETE {
                break;
            }
            parts.push(String::from_utf8_lossy(&self.take_buffer(&mut text)).into_owned());
            if context == 0 || parts.len() > 8 {
                break;
            }
        }
        parts.join("; ")
    }

    fn check(&self, what: &str, major: OmUint32, minor: OmUint32) -> Result<(), SaslException> {
        if major & 0xffff_0000 == 0 {
            return Ok(());
        }
        let mut message = format!(
            "GSSAPI {what} failed: {}",
            self.status_text(major, GSS_C_GSS_CODE)
        );
        if minor != 0 {
            message.push_str(" (");
            message.push_str(&self.status_text(minor, GSS_C_MECH_CODE));
            message.push(')');
        }
        Err(SaslException::new(message))
    }

    fn display(&self, name: Handle) -> Result<String, SaslException> {
        let mut minor = 0;
        let mut text = empty_buffer();
        // SAFETY: `name` is a live name handle; no name type is asked for.
        let major = unsafe { (self.display_name)(&mut minor, name, &mut text, ptr::null_mut()) };
        self.check("display_name", major, minor)?;
        Ok(String::from_utf8_lossy(&self.take_buffer(&mut text)).into_owned())
    }
}

/// A Kerberos principal name (`gss_name_t`), released on drop.
pub struct Name {
    library: &'static Library,
    handle: Handle,
}

// SAFETY: a GSSAPI name is an immutable heap object of MIT's library,
// which is thread-safe; moving the handle to another thread is allowed.
unsafe impl Send for Name {}

impl Name {
    /// Imports `principal` (`zookeeper/localhost@EXAMPLE.COM`; without a
    /// realm the default realm of krb5.conf applies) as a Kerberos name.
    pub fn principal(principal: &str) -> Result<Name, SaslException> {
        Self::import(principal, &KRB5_PRINCIPAL_NAME)
    }

    /// Imports `service@host` as a host-based service name, as the JDK
    /// names the service it initiates to: the library maps the host to
    /// its realm (krb5.conf's domain_realm, else the default realm) and
    /// canonicalizes it as krb5.conf's `dns_canonicalize_hostname` says.
    pub fn host_based_service(service: &str, host: &str) -> Result<Name, SaslException> {
        Self::import(&format!("{service}@{host}"), &HOSTBASED_SERVICE)
    }

    fn import(text: &str, name_type: &[u8]) -> Result<Name, SaslException> {
        let library = library()?;
        let mut minor = 0;
        let mut handle: Handle = ptr::null_mut();
        let mut input = borrowed_buffer(text.as_bytes());
        let mut name_type = OidDesc {
            length: name_type.len() as OmUint32,
            elements: name_type.as_ptr() as *mut c_void,
        };
        // SAFETY: input and OID point at live memory for the call; the
        // library copies what it keeps.
        let major =
            unsafe { (library.import_name)(&mut minor, &mut input, &mut name_type, &mut handle) };
        library
            .check(&format!("import of name {text}"), major, minor)
            .map(|()| Name { library, handle })
    }

    /// The name as text (`client@EXAMPLE.COM`).
    pub fn display(&self) -> Result<String, SaslException> {
        self.library.display(self.handle)
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: the handle is owned by this value and released once.
        unsafe { (self.library.release_name)(&mut minor, &mut self.handle) };
    }
}

/// A credential (`gss_cred_id_t`): a client's ticket or a service's key.
pub struct Credential {
    library: &'static Library,
    handle: Handle,
}

// SAFETY: as for `Name`: MIT's credential handles may move across threads.
unsafe impl Send for Credential {}

impl Credential {
    /// Acquires a credential for `name` (None: the default one) from
    /// `store`, MIT's credential store pairs: `keytab` (acceptor keys),
    /// `client_keytab` (a client's keys, used to get its ticket),
    /// `ccache` (the ticket cache).
    pub fn acquire(
        name: Option<&Name>,
        usage: CredentialUsage,
        store: &[(&str, &str)],
    ) -> Result<Credential, SaslException> {
        let library = library()?;
        let owned: Vec<(CString, CString)> = store
            .iter()
            .map(|(k, v)| {
                Ok((
                    CString::new(*k)
                        .map_err(|_| SaslException::new("credential store key holds a NUL"))?,
                    CString::new(*v).map_err(|_| {
                        SaslException::new(format!("credential store {k} holds a NUL"))
                    })?,
                ))
            })
            .collect::<Result<_, SaslException>>()?;
        let mut elements: Vec<KeyValueElement> = owned
            .iter()
            .map(|(k, v)| KeyValueElement {
                key: k.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let set = KeyValueSet {
            count: elements.len() as OmUint32,
            elements: elements.as_mut_ptr(),
        };
        let mut mech = krb5_mechanism();
        let mut mechs = OidSetDesc {
            count: 1,
            elements: &mut mech,
        };
        let usage = match usage {
            CredentialUsage::Initiate => 1,
            CredentialUsage::Accept => 2,
        };
        let mut minor = 0;
        let mut handle: Handle = ptr::null_mut();
        // SAFETY: the store, its strings and the mechanism set live until
        // the call returns; the library copies what it keeps. A null name
        // is GSS_C_NO_NAME; null outputs are the optional ones left out.
        let major = unsafe {
            (library.acquire_cred_from)(
                &mut minor,
                name.map_or(ptr::null_mut(), |n| n.handle),
                GSS_C_INDEFINITE,
                &mut mechs,
                usage,
                &set,
                &mut handle,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        let who = name
            .and_then(|n| n.display().ok())
            .unwrap_or_else(|| "the default principal".into());
        library
            .check(&format!("acquire_cred for {who}"), major, minor)
            .map(|()| Credential { library, handle })
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: the handle is owned by this value and released once.
        unsafe { (self.library.release_cred)(&mut minor, &mut self.handle) };
    }
}

/// One step of context establishment: the token to send and whether the
/// context is now established.
pub struct Step {
    /// The token for the peer (may be empty).
    pub token: Vec<u8>,
    /// GSS_S_COMPLETE rather than GSS_S_CONTINUE_NEEDED.
    pub established: bool,
}

/// A security context (`gss_ctx_id_t`) being established or established.
pub struct SecurityContext {
    library: &'static Library,
    handle: Handle,
}

// SAFETY: a context is used by one thread at a time (`&mut self`); MIT's
// library allows that thread to change.
unsafe impl Send for SecurityContext {}

impl SecurityContext {
    /// A context not yet started.
    pub fn new() -> Result<SecurityContext, SaslException> {
        Ok(SecurityContext {
            library: library()?,
            handle: ptr::null_mut(),
        })
    }

    /// gss_init_sec_context: the client's next token for `target`, given
    /// the server's last one (empty to start). Requests mutual
    /// authentication and integrity (RFC 4752 wraps the layer negotiation).
    pub fn initiate(
        &mut self,
        credential: &Credential,
        target: &Name,
        input: &[u8],
    ) -> Result<Step, SaslException> {
        let library = self.library;
        let mut minor = 0;
        let mut mech = krb5_mechanism();
        let mut input = borrowed_buffer(input);
        let mut output = empty_buffer();
        // SAFETY: handles are live (the context one is updated in place);
        // the input buffer lives for the call; the output is taken below.
        let major = unsafe {
            (library.init_sec_context)(
                &mut minor,
                credential.handle,
                &mut self.handle,
                target.handle,
                &mut mech,
                GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG,
                0,
                ptr::null_mut(),
                &mut input,
                ptr::null_mut(),
                &mut output,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        let token = library.take_buffer(&mut output);
        library.check("init_sec_context", major, minor)?;
        continue_or_complete(
            major,
            Step {
                token,
                established: major & 0xffff == GSS_S_COMPLETE,
            },
        )
    }

    /// gss_accept_sec_context: the server's answer to the client's token,
    /// and once established the client's principal name.
    pub fn accept(
        &mut self,
        credential: &Credential,
        input: &[u8],
    ) -> Result<(Step, Option<String>), SaslException> {
        let library = self.library;
        let mut minor = 0;
        let mut input = borrowed_buffer(input);
        let mut output = empty_buffer();
        let mut source: Handle = ptr::null_mut();
        // SAFETY: as for `initiate`; the source name returned is owned
        // here and wrapped in a `Name` to be released.
        let major = unsafe {
            (library.accept_sec_context)(
                &mut minor,
                &mut self.handle,
                credential.handle,
                &mut input,
                ptr::null_mut(),
                &mut source,
                ptr::null_mut(),
                &mut output,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        let token = library.take_buffer(&mut output);
        let source = (!source.is_null()).then_some(Name {
            library,
            handle: source,
        });
        library.check("accept_sec_context", major, minor)?;
        let step = continue_or_complete(
            major,
            Step {
                token,
                established: major & 0xffff == GSS_S_COMPLETE,
            },
        )?;
        let peer = match (&source, step.established) {
            (Some(name), true) => Some(name.display()?),
            _ => None,
        };
        Ok((step, peer))
    }

    /// gss_wrap without confidentiality (integrity only), as RFC 4752's
    /// layer negotiation is sent.
    pub fn wrap(&self, message: &[u8]) -> Result<Vec<u8>, SaslException> {
        let library = self.library;
        let mut minor = 0;
        let mut input = borrowed_buffer(message);
        let mut output = empty_buffer();
        // SAFETY: the context is established (callers wrap only then); the
        // input lives for the call; the output is taken below.
        let major = unsafe {
            (library.wrap)(
                &mut minor,
                self.handle,
                0,
                0,
                &mut input,
                ptr::null_mut(),
                &mut output,
            )
        };
        let token = library.take_buffer(&mut output);
        library.check("wrap", major, minor).map(|()| token)
    }

    /// gss_unwrap: the peer's message, its integrity checked.
    pub fn unwrap(&self, token: &[u8]) -> Result<Vec<u8>, SaslException> {
        let library = self.library;
        let mut minor = 0;
        let mut input = borrowed_buffer(token);
        let mut output = empty_buffer();
        // SAFETY: as for `wrap`.
        let major = unsafe {
            (library.unwrap)(
                &mut minor,
                self.handle,
                &mut input,
                &mut output,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        let message = library.take_buffer(&mut output);
        library.check("unwrap", major, minor).map(|()| message)
    }
}

/// Refuses supplementary statuses other than "continue needed" (a
/// duplicate or replayed token is an error for an exchange this short).
fn continue_or_complete(major: OmUint32, step: Step) -> Result<Step, SaslException> {
    match major & 0xffff {
        GSS_S_COMPLETE | GSS_S_CONTINUE_NEEDED => Ok(step),
        other => Err(SaslException::new(format!(
            "GSSAPI context establishment returned supplementary status 0x{other:x} (duplicate, old or out-of-order token)"
        ))),
    }
}

impl Drop for SecurityContext {
    fn drop(&mut self) {
        if self.handle.is_null() {
            return;
        }
        let mut minor = 0;
        // SAFETY: the handle is owned by this value and deleted once; no
        // output token is asked for (GSS_C_NO_BUFFER).
        unsafe { (self.library.delete_sec_context)(&mut minor, &mut self.handle, ptr::null_mut()) };
    }
}
