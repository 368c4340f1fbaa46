// trust-proxy verify: HttpsURLConnection with the JDK's default trust (its cacerts, or
// javax.net.ssl.trustStore from JAVA_TOOL_OPTIONS). Java does not read HTTPS_PROXY: the proxy,
// if any, comes as arguments.
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import javax.net.ssl.HttpsURLConnection;

public class Fetch {
    public static void main(String[] args) throws Exception {
        System.out.println("TP-VERSION java " + System.getProperty("java.version"));
        Proxy proxy = Proxy.NO_PROXY;
        if (args.length >= 4) {
            proxy = new Proxy(Proxy.Type.HTTP, new InetSocketAddress(args[2], Integer.parseInt(args[3])));
        }
        int timeoutMillis = (int) (Double.parseDouble(args[1]) * 1000);
        HttpsURLConnection connection = (HttpsURLConnection) new URI(args[0]).toURL().openConnection(proxy);
        connection.setConnectTimeout(timeoutMillis);
        connection.setReadTimeout(timeoutMillis);
        System.out.println("TP-HTTP-STATUS " + connection.getResponseCode());
    }
}
