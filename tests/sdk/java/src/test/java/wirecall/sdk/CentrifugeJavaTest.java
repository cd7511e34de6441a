package wirecall.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.centrifugal.centrifuge.Client;
import io.github.centrifugal.centrifuge.ClientState;
import io.github.centrifugal.centrifuge.ConnectedEvent;
import io.github.centrifugal.centrifuge.ConnectingEvent;
import io.github.centrifugal.centrifuge.ConnectionTokenEvent;
import io.github.centrifugal.centrifuge.ConnectionTokenGetter;
import io.github.centrifugal.centrifuge.DisconnectedEvent;
import io.github.centrifugal.centrifuge.ErrorEvent;
import io.github.centrifugal.centrifuge.EventListener;
import io.github.centrifugal.centrifuge.HistoryOptions;
import io.github.centrifugal.centrifuge.HistoryResult;
import io.github.centrifugal.centrifuge.Options;
import io.github.centrifugal.centrifuge.PresenceResult;
import io.github.centrifugal.centrifuge.PresenceStatsResult;
import io.github.centrifugal.centrifuge.PublicationEvent;
import io.github.centrifugal.centrifuge.PublishResult;
import io.github.centrifugal.centrifuge.RPCResult;
import io.github.centrifugal.centrifuge.ReplyError;
import io.github.centrifugal.centrifuge.ResultCallback;
import io.github.centrifugal.centrifuge.ServerPublicationEvent;
import io.github.centrifugal.centrifuge.ServerSubscribedEvent;
import io.github.centrifugal.centrifuge.SubscribedEvent;
import io.github.centrifugal.centrifuge.Subscription;
import io.github.centrifugal.centrifuge.SubscriptionEventListener;
import io.github.centrifugal.centrifuge.SubscriptionOptions;
import io.github.centrifugal.centrifuge.TokenCallback;
import io.github.centrifugal.centrifuge.UnsubscribedEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * End-to-end tests: the official centrifuge-java SDK, which speaks only the Protobuf
 * encoding (as on Android), against the wirecall sdk-fixture server. The same ten
 * scenarios as the Python, JavaScript and Go suites. Each test starts its own fixture
 * process, talks to it over stdin/stdout (mint tokens, publish from the server side,
 * restart) and drives real SDK clients; tests wait on SDK events, and the timeouts
 * are only hang guards.
 */
class CentrifugeJavaTest {
    static final long TIMEOUT_SECONDS = 10;
    static final String USER = "u1";
    static final String NEWS = "news:updates";
    static final ObjectMapper JSON = new ObjectMapper();

    Fixture fx;

    @BeforeEach
    void start() throws Exception {
        fx = Fixture.start();
    }

    @AfterEach
    void stop() throws Exception {
        fx.stop();
    }

    // -------------------------------------------------------------------------
    // helpers

    /** The next event, failing the test after the timeout. */
    static <T> T next(BlockingQueue<T> queue, String what) throws InterruptedException {
        T item = queue.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(item, "timed out after " + TIMEOUT_SECONDS + " s waiting for " + what);
        return item;
    }

    /** The result of an SDK call taking a callback; its error is thrown as the cause. */
    static <T> T call(Consumer<ResultCallback<T>> operation, String what) throws Exception {
        CompletableFuture<T> done = new CompletableFuture<>();
        operation.accept((error, result) -> {
            if (error != null) {
                done.completeExceptionally(error);
            } else {
                done.complete(result);
            }
        });
        try {
            return done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("timed out waiting for " + what, e);
        }
    }

    static byte[] json(Object value) throws IOException {
        return JSON.writeValueAsBytes(value);
    }

    /** Asserts the JSON bytes decode to the same value as `want`. */
    static void assertJson(Object want, byte[] got) throws IOException {
        assertEquals(JSON.valueToTree(want), JSON.readTree(got), new String(got, StandardCharsets.UTF_8));
    }

    /** Records client-level events; `publications` are those of server-side subscriptions. */
    static class ClientEvents extends EventListener {
        final BlockingQueue<ConnectingEvent> connecting = new LinkedBlockingQueue<>();
        final BlockingQueue<ConnectedEvent> connected = new LinkedBlockingQueue<>();
        final BlockingQueue<DisconnectedEvent> disconnected = new LinkedBlockingQueue<>();
        final BlockingQueue<ErrorEvent> errors = new LinkedBlockingQueue<>();
        final BlockingQueue<ServerSubscribedEvent> serverSubscribed = new LinkedBlockingQueue<>();
        final BlockingQueue<ServerPublicationEvent> publications = new LinkedBlockingQueue<>();

        @Override
        public void onConnecting(Client client, ConnectingEvent event) {
            connecting.add(event);
        }

        @Override
        public void onConnected(Client client, ConnectedEvent event) {
            connected.add(event);
        }

        @Override
        public void onDisconnected(Client client, DisconnectedEvent event) {
            disconnected.add(event);
        }

        @Override
        public void onError(Client client, ErrorEvent event) {
            errors.add(event);
        }

        @Override
        public void onSubscribed(Client client, ServerSubscribedEvent event) {
            serverSubscribed.add(event);
        }

        @Override
        public void onPublication(Client client, ServerPublicationEvent event) {
            publications.add(event);
        }
    }

    /** Records subscription events. */
    static class SubEvents extends SubscriptionEventListener {
        final BlockingQueue<SubscribedEvent> subscribed = new LinkedBlockingQueue<>();
        final BlockingQueue<UnsubscribedEvent> unsubscribed = new LinkedBlockingQueue<>();
        final BlockingQueue<PublicationEvent> publications = new LinkedBlockingQueue<>();

        @Override
        public void onSubscribed(Subscription sub, SubscribedEvent event) {
            subscribed.add(event);
        }

        @Override
        public void onUnsubscribed(Subscription sub, UnsubscribedEvent event) {
            unsubscribed.add(event);
        }

        @Override
        public void onPublication(Subscription sub, PublicationEvent event) {
            publications.add(event);
        }
    }

    /** A connected client and what it recorded. */
    record Connected(Client client, ClientEvents events, String clientId) {}

    /** A subscription that reached subscribed. */
    record Subscribed(Subscription sub, SubEvents events, SubscribedEvent first) {}

    Connected connectedClient(String user) throws Exception {
        Options options = new Options();
        options.setToken(fx.token(user, 3600, false));
        ClientEvents events = new ClientEvents();
        Client client = fx.client(options, events);
        client.connect();
        ConnectedEvent connected = next(events.connected, "connected event of " + user);
        return new Connected(client, events, connected.getClient());
    }

    static Subscribed subscribed(Client client, String channel, SubscriptionOptions options) throws Exception {
        SubEvents events = new SubEvents();
        Subscription sub = client.newSubscription(channel, options, events);
        sub.subscribe();
        return new Subscribed(sub, events, next(events.subscribed, "subscribed event on " + channel));
    }

    static JsonNode rpc(Client client, String method, Object params) throws Exception {
        byte[] data = json(params);
        RPCResult result = call(cb -> client.rpc(method, data, cb), method);
        return JSON.readTree(result.getData());
    }

    // -------------------------------------------------------------------------
    // tests

    /** A valid token connects; test.whoami reports the token's user and this client id. */
    @Test
    void connectWithValidToken() throws Exception {
        Connected c = connectedClient(USER);
        assertEquals(ClientState.CONNECTED, c.client().getState());
        assertFalse(c.clientId().isEmpty());
        assertEquals(JSON.valueToTree(Map.of("user", USER, "client", c.clientId())), rpc(c.client(), "test.whoami", Map.of()));
    }

    /** A token with a bad signature: the server closes with 3500, which is terminal. */
    @Test
    void badSignatureTokenIsRefused() throws Exception {
        Options options = new Options();
        options.setToken(fx.token(USER, 3600, true));
        ClientEvents events = new ClientEvents();
        Client client = fx.client(options, events);
        client.connect();
        DisconnectedEvent disconnected = next(events.disconnected, "disconnected event");
        assertEquals(3500, disconnected.getCode());
        assertEquals("invalid token", disconnected.getReason());
        assertEquals(ClientState.DISCONNECTED, client.getState());
        assertTrue(events.connected.isEmpty());
    }

    /** An expired token gets error 109; the SDK asks the token getter and connects with the new one. */
    @Test
    void expiredTokenCallsTheTokenGetter() throws Exception {
        String fresh = fx.token(USER, 3600, false);
        AtomicInteger calls = new AtomicInteger();
        Options options = new Options();
        options.setToken(fx.token(USER, -60, false));
        options.setTokenGetter(new ConnectionTokenGetter() {
            @Override
            public void getConnectionToken(ConnectionTokenEvent event, TokenCallback cb) {
                calls.incrementAndGet();
                cb.Done(null, fresh);
            }
        });
        ClientEvents events = new ClientEvents();
        Client client = fx.client(options, events);
        client.connect();
        ConnectedEvent connected = next(events.connected, "connected event after the token refresh");
        assertEquals(1, calls.get());
        List<Integer> codes = new ArrayList<>();
        for (ErrorEvent e : events.errors) {
            if (e.getError() instanceof ReplyError reply) {
                codes.add(reply.getCode());
            }
        }
        assertTrue(codes.contains(109), "connect errors: " + codes);
        assertEquals(JSON.valueToTree(Map.of("user", USER, "client", connected.getClient())), rpc(client, "test.whoami", Map.of()));
    }

    /** test.echo round-trips a nested object; test.fail fails with ReplyError 1001. */
    @Test
    void rpcSuccessAndFailure() throws Exception {
        Connected c = connectedClient(USER);
        Map<String, Object> payload = Map.of(
                "a", 1,
                "nested", Map.of("list", List.of(1, "two", Map.of("three", 3.5)), "flag", true),
                "text", "héllo ✓");
        assertEquals(JSON.valueToTree(payload), rpc(c.client(), "test.echo", payload));

        ExecutionException failed = org.junit.jupiter.api.Assertions.assertThrows(
                ExecutionException.class, () -> rpc(c.client(), "test.fail", Map.of()));
        ReplyError error = assertInstanceOf(ReplyError.class, failed.getCause());
        assertEquals(1001, error.getCode());
        assertEquals("custom app error", error.getMessage());
        assertEquals(ClientState.CONNECTED, c.client().getState()); // RPC errors never disconnect
    }

    /** A server-side publish reaches the subscription with exactly the published data. */
    @Test
    void subscribeReceivesServerPublication() throws Exception {
        Connected c = connectedClient(USER);
        Subscribed s = subscribed(c.client(), NEWS, new SubscriptionOptions());
        Map<String, Object> data = Map.of("headline", "hello", "tags", List.of("a", "b"), "n", 1);
        fx.publish(NEWS, data);
        assertJson(data, next(s.events().publications, "publication").getData());
    }

    /** A subscriber publishes; another user's subscription receives it with the publisher's info. */
    @Test
    void clientPublishReachesOtherSubscribers() throws Exception {
        Connected publisher = connectedClient(USER);
        Connected reader = connectedClient("u2");
        Subscribed readerSub = subscribed(reader.client(), NEWS, new SubscriptionOptions());
        Subscribed publisherSub = subscribed(publisher.client(), NEWS, new SubscriptionOptions());
        Map<String, Object> data = Map.of("from", "a client", "n", List.of(1, 2));
        byte[] bytes = json(data);
        CentrifugeJavaTest.<PublishResult>call(cb -> publisherSub.sub().publish(bytes, cb), "publish");
        PublicationEvent got = next(readerSub.events().publications, "client publication");
        assertJson(data, got.getData());
        assertEquals(USER, got.getInfo().getUser());
        assertEquals(publisher.clientId(), got.getInfo().getClient());
    }

    /** The server subscribes the client to personal:#u1; a personal publish reaches the client-level handler. */
    @Test
    void personalChannel() throws Exception {
        Connected c = connectedClient(USER);
        String channel = "personal:#" + USER;
        assertEquals(channel, next(c.events().serverSubscribed, "server-side subscribed event").getChannel());
        Map<String, Object> data = Map.of("note", "for you only");
        fx.command(Map.of("cmd", "personal", "user", USER, "data", data));
        ServerPublicationEvent got = next(c.events().publications, "personal publication");
        assertEquals(channel, got.getChannel());
        assertJson(data, got.getData());
    }

    /** Presence lists this client; stats count 1 client / 1 user; history returns 3 publications in order. */
    @Test
    void presenceAndHistory() throws Exception {
        Connected c = connectedClient(USER);
        Subscription sub = subscribed(c.client(), NEWS, new SubscriptionOptions()).sub();

        PresenceResult presence = call(sub::presence, "presence");
        assertTrue(presence.getClients().containsKey(c.clientId()), presence.getClients().keySet().toString());
        assertEquals(USER, presence.getClients().get(c.clientId()).getUser());
        assertEquals(c.clientId(), presence.getClients().get(c.clientId()).getClient());

        PresenceStatsResult stats = call(sub::presenceStats, "presence stats");
        assertEquals(1, stats.getNumClients());
        assertEquals(1, stats.getNumUsers());

        List<Map<String, Object>> sent = List.of(Map.of("h", 1), Map.of("h", 2), Map.of("h", 3));
        List<Long> offsets = new ArrayList<>();
        for (Map<String, Object> data : sent) {
            offsets.add(fx.publish(NEWS, data).get("offset").asLong());
        }
        HistoryOptions options = new HistoryOptions.Builder().withLimit(10).build();
        HistoryResult history = call(cb -> sub.history(options, cb), "history");
        assertEquals(3, history.getPublications().size());
        for (int i = 0; i < 3; i++) {
            assertJson(sent.get(i), history.getPublications().get(i).getData());
            assertEquals(offsets.get(i), history.getPublications().get(i).getOffset());
        }
        assertEquals(offsets.get(0) + 2, offsets.get(2));
        assertEquals(offsets.get(2), history.getOffset());
        assertFalse(history.getEpoch().isEmpty());
    }

    /** chat:#other_user is refused with 103 (permission denied), nope:x with 102. */
    @Test
    void subscribeRefused() throws Exception {
        Connected c = connectedClient(USER);
        for (Map.Entry<String, Integer> refusal : Map.of("chat:#other_user", 103, "nope:x", 102).entrySet()) {
            SubEvents events = new SubEvents();
            Subscription sub = c.client().newSubscription(refusal.getKey(), events);
            sub.subscribe();
            UnsubscribedEvent unsubscribed = next(events.unsubscribed, "unsubscribed event on " + refusal.getKey());
            assertEquals(refusal.getValue(), unsubscribed.getCode(), refusal.getKey());
            assertTrue(events.subscribed.isEmpty());
        }
    }

    /**
     * After a server restart (close 3001) the SDK reconnects, resubscribes with recovery and
     * gets exactly the 3 publications made while it was away, in order.
     */
    @Test
    void restartRecoversMissedPublications() throws Exception {
        Connected c = connectedClient(USER);
        SubscriptionOptions options = new SubscriptionOptions();
        options.setRecoverable(true);
        options.setPositioned(true);
        Subscribed s = subscribed(c.client(), NEWS, options);
        assertTrue(s.first().getRecoverable());
        assertFalse(s.first().wasRecovering());

        fx.publish(NEWS, Map.of("n", 0));
        PublicationEvent before = next(s.events().publications, "publication before the restart");
        assertJson(Map.of("n", 0), before.getData());

        List<Map<String, Object>> missed = List.of(Map.of("n", 1), Map.of("n", 2), Map.of("n", 3));
        List<Map<String, Object>> publish = new ArrayList<>();
        for (Map<String, Object> data : missed) {
            publish.add(Map.of("channel", NEWS, "data", data));
        }
        fx.command(Map.of("cmd", "restart", "publish", publish));

        // Connecting events: the one from connect(), then the server's shutdown close.
        next(c.events().connecting, "connecting event from connect()");
        assertEquals(3001, next(c.events().connecting, "connecting event after the restart").getCode());

        SubscribedEvent again = next(s.events().subscribed, "subscribed event after the restart");
        assertTrue(again.wasRecovering());
        assertTrue(again.getRecovered());

        for (int i = 0; i < missed.size(); i++) {
            PublicationEvent got = next(s.events().publications, "recovered publication");
            assertJson(missed.get(i), got.getData());
            assertEquals(before.getOffset() + i + 1, got.getOffset());
        }

        // Nothing else was delivered: the next thing the subscription sees is a new publish.
        fx.publish(NEWS, Map.of("n", "after"));
        assertJson(Map.of("n", "after"), next(s.events().publications, "publication after recovery").getData());
        assertTrue(s.events().publications.isEmpty());
        assertTrue(s.events().subscribed.isEmpty());
    }

    // -------------------------------------------------------------------------
    // the fixture process

    /**
     * One sdk-fixture process: `READY <port>` on stdout, then one JSON command per stdin
     * line, answered `OK <json>` or `ERR <message>` (tests/sdk/README.md).
     */
    static final class Fixture {
        final Process process;
        final Writer stdin;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final List<Client> clients = new ArrayList<>();
        String url;

        private Fixture(Process process) {
            this.process = process;
            this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = out.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // The process ended.
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        static Fixture start() throws Exception {
            String path = System.getenv().getOrDefault(
                    "WIRECALL_FIXTURE", Path.of("../../../target/debug/sdk-fixture").toAbsolutePath().toString());
            Process process = new ProcessBuilder(path).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Fixture fx = new Fixture(process);
            String ready = next(fx.lines, "the fixture's READY line");
            assertTrue(ready.matches("READY \\d+"), "unexpected first fixture line: " + ready);
            fx.url = "ws://127.0.0.1:" + ready.split(" ")[1] + "/connection/websocket";
            return fx;
        }

        /** One command; the JSON after `OK` (an `ERR` fails the test). */
        synchronized JsonNode command(Map<String, Object> command) throws Exception {
            stdin.write(JSON.writeValueAsString(command) + "\n");
            stdin.flush();
            String line = next(lines, "the fixture's answer to " + command);
            assertTrue(line.startsWith("OK "), "fixture command " + command + " failed: " + line);
            return JSON.readTree(line.substring(3));
        }

        String token(String user, int expIn, boolean badSignature) throws Exception {
            return command(Map.of("cmd", "token", "user", user, "exp_in", expIn, "bad_signature", badSignature)).asText();
        }

        JsonNode publish(String channel, Object data) throws Exception {
            return command(Map.of("cmd", "publish", "channel", channel, "data", data));
        }

        /** A client of this fixture; short reconnect delays keep the restart test quick. */
        Client client(Options options, EventListener listener) {
            options.setMinReconnectDelay(50);
            options.setMaxReconnectDelay(500);
            Client client = new Client(url, options, listener);
            clients.add(client);
            return client;
        }

        void stop() throws Exception {
            for (Client client : clients) {
                client.close(1000);
            }
            try {
                stdin.write("{\"cmd\":\"quit\"}\n");
                stdin.close();
            } catch (IOException ignored) {
                // Already gone.
            }
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
