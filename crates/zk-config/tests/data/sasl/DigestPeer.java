// The JDK's own DIGEST-MD5 server or client (javax.security.sasl), set up
// as ZooKeeper 3.8 sets them up, talking to zk-config's mechanism over
// stdin/stdout for crates/zk-config/tests/digest_md5_interop.rs.
//
// Frames both ways: one kind byte, a 4-byte big-endian length, the bytes.
// Kinds: 'T' a token, 'C' the last token (the exchange completed here),
// 'A' the authorized id (after the server's 'C'), 'E' an error message.
//
//   java DigestPeer server PROTOCOL SERVER_NAME USER=PASSWORD...
//   java DigestPeer client PROTOCOL SERVER_NAME USER PASSWORD
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import javax.security.auth.callback.*;
import javax.security.sasl.*;

public class DigestPeer {
    static DataInputStream in = new DataInputStream(new BufferedInputStream(System.in));
    static DataOutputStream out = new DataOutputStream(new BufferedOutputStream(System.out));

    static void send(char kind, byte[] bytes) throws IOException {
        out.writeByte(kind);
        out.writeInt(bytes == null ? 0 : bytes.length);
        if (bytes != null) out.write(bytes);
        out.flush();
    }

    static void send(char kind, String text) throws IOException {
        send(kind, text.getBytes(StandardCharsets.UTF_8));
    }

    /** The next frame's token; null when the peer sent an error or left. */
    static byte[] receive() throws IOException {
        int kind;
        try {
            kind = in.readUnsignedByte();
        } catch (EOFException e) {
            return null;
        }
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        return kind == 'E' ? null : bytes;
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("server")) {
            server(args);
        } else {
            client(args);
        }
    }

    /** 3.8's SaslServerCallbackHandler, reduced to DIGEST-MD5's callbacks. */
    static void server(String[] args) throws IOException {
        Map<String, String> users = new HashMap<>();
        for (int i = 3; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            users.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        String[] user = new String[1];
        CallbackHandler handler = callbacks -> {
            for (Callback cb : callbacks) {
                if (cb instanceof NameCallback) {
                    NameCallback nc = (NameCallback) cb;
                    if (users.containsKey(nc.getDefaultName())) {
                        nc.setName(nc.getDefaultName());
                        user[0] = nc.getDefaultName();
                    }
                } else if (cb instanceof PasswordCallback) {
                    String pw = users.get(user[0]);
                    if (pw != null) ((PasswordCallback) cb).setPassword(pw.toCharArray());
                } else if (cb instanceof RealmCallback) {
                    RealmCallback rc = (RealmCallback) cb;
                    rc.setText(rc.getDefaultText());
                } else if (cb instanceof AuthorizeCallback) {
                    AuthorizeCallback ac = (AuthorizeCallback) cb;
                    ac.setAuthorized(true);
                    ac.setAuthorizedID(ac.getAuthenticationID());
                }
            }
        };
        SaslServer ss = Sasl.createSaslServer("DIGEST-MD5", args[1], args[2], null, handler);
        while (true) {
            byte[] token = receive();
            if (token == null) return;
            try {
                byte[] reply = ss.evaluateResponse(token);
                if (ss.isComplete()) {
                    send('C', reply);
                    send('A', ss.getAuthorizationID());
                    return;
                }
                send('T', reply);
            } catch (SaslException e) {
                send('E', e.getMessage());
                return;
            }
        }
    }

    /** 3.8's SecurityUtils.createSaslClient for DIGEST-MD5: the user name is the authorization id. */
    static void client(String[] args) throws IOException {
        String username = args[3];
        String password = args[4];
        CallbackHandler handler = callbacks -> {
            for (Callback cb : callbacks) {
                if (cb instanceof NameCallback) {
                    NameCallback nc = (NameCallback) cb;
                    nc.setName(nc.getDefaultName());
                } else if (cb instanceof PasswordCallback) {
                    ((PasswordCallback) cb).setPassword(password.toCharArray());
                } else if (cb instanceof RealmCallback) {
                    RealmCallback rc = (RealmCallback) cb;
                    rc.setText(rc.getDefaultText());
                }
            }
        };
        SaslClient sc = Sasl.createSaslClient(
            new String[] {"DIGEST-MD5"}, username, args[1], args[2], null, handler);
        // ZooKeeperSaslClient sends an empty token first: DIGEST-MD5 has
        // no initial response.
        send('T', new byte[0]);
        while (true) {
            byte[] challenge = receive();
            if (challenge == null) return;
            try {
                byte[] reply = sc.evaluateChallenge(challenge);
                if (sc.isComplete()) {
                    send('C', reply);
                    return;
                }
                send('T', reply);
            } catch (SaslException e) {
                send('E', e.getMessage());
                return;
            }
        }
    }
}
