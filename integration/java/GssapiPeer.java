// One side of a SASL GSSAPI exchange with the JDK's own mechanism
// (javax.security.sasl, Kerberos through JAAS Krb5LoginModule), over
// loopback TCP, for integration/tests/kerberos_sasl.rs. Its peer is
// zk-sasl-peer (zk-config's GssapiServer/GssapiClient), which speaks the
// same framing: client -> server "u32 length, token"; server -> client
// "u8 status (0 continue, 1 complete, 2 failed), u32 length, token".
//
//   java -Djava.security.auth.login.config=JAAS -Djava.security.krb5.conf=CONF \
//        GssapiPeer server PORT SECTION SERVICE HOST
//   java ... GssapiPeer client PORT SECTION SERVICE HOST
//
// Prints LISTENING, then "AUTHORIZED <id>" (server) or COMPLETE (client);
// on failure "FAILED: <why>" and exit status 1.

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.security.PrivilegedExceptionAction;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslServer;

public class GssapiPeer {
    public static void main(String[] args) {
        try {
            LoginContext login = new LoginContext(args[2]);
            login.login();
            Subject subject = login.getSubject();
            String line = Subject.doAs(subject, (PrivilegedExceptionAction<String>) () ->
                args[0].equals("server") ? serve(args) : connect(args, subject));
            System.out.println(line);
        } catch (Exception e) {
            Throwable cause = e;
            StringBuilder why = new StringBuilder();
            while (cause != null) {
                why.append(cause).append("; ");
                cause = cause.getCause();
            }
            System.out.println("FAILED: " + why);
            System.exit(1);
        }
    }

    static byte[] readToken(DataInputStream in) throws Exception {
        int len = in.readInt();
        byte[] token = new byte[len];
        in.readFully(token);
        return token;
    }

    static String serve(String[] args) throws Exception {
        try (ServerSocket listener = new ServerSocket(Integer.parseInt(args[1]), 1,
                InetAddress.getLoopbackAddress())) {
            System.out.println("LISTENING");
            System.out.flush();
            try (Socket socket = listener.accept()) {
                socket.setSoTimeout(30000);
                DataInputStream in = new DataInputStream(socket.getInputStream());
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                CallbackHandler handler = callbacks -> {
                    for (Callback cb : callbacks) {
                        if (cb instanceof AuthorizeCallback) {
                            AuthorizeCallback ac = (AuthorizeCallback) cb;
                            boolean same = ac.getAuthenticationID().equals(ac.getAuthorizationID());
                            ac.setAuthorized(same);
                            if (same) {
                                ac.setAuthorizedID(ac.getAuthorizationID());
                            }
                        }
                    }
                };
                SaslServer server = Sasl.createSaslServer("GSSAPI", args[3], args[4], null, handler);
                while (true) {
                    byte[] response = readToken(in);
                    byte[] challenge;
                    try {
                        challenge = server.evaluateResponse(response);
                    } catch (Exception e) {
                        byte[] why = e.toString().getBytes(StandardCharsets.UTF_8);
                        out.writeByte(2);
                        out.writeInt(why.length);
                        out.write(why);
                        out.flush();
                        throw e;
                    }
                    if (challenge == null) {
                        challenge = new byte[0];
                    }
                    out.writeByte(server.isComplete() ? 1 : 0);
                    out.writeInt(challenge.length);
                    out.write(challenge);
                    out.flush();
                    if (server.isComplete()) {
                        return "AUTHORIZED " + server.getAuthorizationID();
                    }
                }
            }
        }
    }

    static String connect(String[] args, Subject subject) throws Exception {
        Principal me = subject.getPrincipals().iterator().next();
        SaslClient client = Sasl.createSaslClient(new String[] {"GSSAPI"}, me.getName(),
            args[3], args[4], null, callbacks -> { });
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(args[1]))) {
            socket.setSoTimeout(30000);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            byte[] first = client.hasInitialResponse() ? client.evaluateChallenge(new byte[0]) : new byte[0];
            out.writeInt(first.length);
            out.write(first);
            out.flush();
            while (true) {
                int status = in.readUnsignedByte();
                byte[] token = readToken(in);
                if (status == 2) {
                    throw new Exception("server failed: " + new String(token, StandardCharsets.UTF_8));
                }
                if (status == 1) {
                    if (!client.isComplete() || token.length != 0) {
                        throw new Exception("the server completed before this client");
                    }
                    return "COMPLETE";
                }
                byte[] answer = client.evaluateChallenge(token);
                if (answer == null) {
                    answer = new byte[0];
                }
                out.writeInt(answer.length);
                out.write(answer);
                out.flush();
            }
        }
    }
}
