// Apache Curator's recipes, unmodified, against one ZooKeeper server.
//
// Usage: java CuratorRecipes HOST:PORT
//
// Prints one line per check on stdout, "ok <check>: <what held>" or
// "FAIL <check>: <why>", and exits non-zero when any check failed. Timings
// and Curator's own log go to stderr. Every wait has a deadline, and a
// watchdog ends the JVM if the whole run overstays, so a server that stops
// answering makes this fail, never hang.
//
// The server must allow TTL nodes (extendedTypesEnabled=true) and check
// containers often (znode.container.checkIntervalMs of a few hundred ms),
// or the PersistentTtlNode check waits in vain.
//
// Built by integration/tests/curator.rs with javac against Debian's jars.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.nodes.PersistentTtlNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

public class CuratorRecipes {
    /** How long any one condition may take to come true on a busy machine. */
    static final long WAIT_MS = 20_000;
    /** The whole run; past it the watchdog exits with status 3. */
    static final long RUN_MS = 150_000;

    static String connect;
    static int failures = 0;
    static final List<CuratorFramework> clients = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CuratorRecipes HOST:PORT");
            System.exit(2);
        }
        connect = args[0];
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(RUN_MS);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("FAIL run: still running after " + RUN_MS + " ms");
            System.out.flush();
            Runtime.getRuntime().halt(3);
        });
        watchdog.setDaemon(true);
        watchdog.start();

        check("mutex", CuratorRecipes::mutex);
        check("leader-latch", CuratorRecipes::leaderLatch);
        check("distributed-queue", CuratorRecipes::distributedQueue);
        check("node-cache", CuratorRecipes::nodeCache);
        check("curator-cache", CuratorRecipes::curatorCache);
        check("persistent-ttl-node", CuratorRecipes::persistentTtlNode);

        for (CuratorFramework c : clients) {
            c.close();
        }
        System.out.flush();
        // Curator and ZooKeeper leave non-daemon threads behind on failures.
        Runtime.getRuntime().halt(failures == 0 ? 0 : 1);
    }

    interface Check {
        String run() throws Exception;
    }

    static void check(String name, Check body) {
        long start = System.nanoTime();
        String line;
        try {
            line = "ok " + name + ": " + body.run();
        } catch (Throwable e) {
            failures++;
            line = "FAIL " + name + ": " + e;
            e.printStackTrace();
        }
        System.err.printf("%s took %d ms%n", name, (System.nanoTime() - start) / 1_000_000);
        System.out.println(line);
        System.out.flush();
    }

    static CuratorFramework client() throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(10_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 5))
                .build();
        clients.add(c);
        c.start();
        if (!c.blockUntilConnected((int) WAIT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("no connection to " + connect + " within " + WAIT_MS + " ms");
        }
        return c;
    }

    static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WAIT_MS + " ms: " + what);
            }
            Thread.sleep(10);
        }
    }

    static void require(boolean holds, String what) {
        if (!holds) {
            throw new AssertionError(what);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    // --- InterProcessMutex: several clients (sessions) contend; never two holders.

    static String mutex() throws Exception {
        final int clientCount = 4;
        final int rounds = 5;
        final String path = "/recipes/mutex";
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        AtomicInteger acquired = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int i = 0; i < clientCount; i++) {
            CuratorFramework c = client();
            Thread t = new Thread(() -> {
                InterProcessMutex lock = new InterProcessMutex(c, path);
                try {
                    for (int r = 0; r < rounds; r++) {
                        if (!lock.acquire(WAIT_MS, TimeUnit.MILLISECONDS)) {
                            throw new AssertionError("lock not acquired within " + WAIT_MS + " ms");
                        }
                        try {
                            if (holders.incrementAndGet() != 1) {
                                overlaps.incrementAndGet();
                            }
                            acquired.incrementAndGet();
                            Thread.sleep(5);
                            holders.decrementAndGet();
                        } finally {
                            lock.release();
                        }
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            });
            threads.add(t);
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join(WAIT_MS * rounds);
            require(!t.isAlive(), "a contender is still running");
        }
        require(errors.isEmpty(), "contender failed: " + errors);
        require(overlaps.get() == 0, overlaps.get() + " times two clients held the lock at once");
        require(acquired.get() == clientCount * rounds, "acquired " + acquired.get() + " times");
        // The lock's parent is a container: the server may already have
        // removed it, now that it is empty.
        try {
            List<String> left = clients.get(0).getChildren().forPath(path);
            require(left.isEmpty(), "lock nodes left behind: " + left);
        } catch (KeeperException.NoNodeException removedContainer) {
        }
        return clientCount + " clients x " + rounds + " acquisitions, never two holders, no lock node left";
    }

    // --- LeaderLatch: exactly one leader; leadership moves when it closes.

    static String leaderLatch() throws Exception {
        final String path = "/recipes/leader";
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LeaderLatch latch = new LeaderLatch(client(), path, "p" + i);
            latch.start();
            latches.add(latch);
        }
        waitFor("one of 3 latches leads", () -> leaders(latches) == 1);
        LeaderLatch first = latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
        for (LeaderLatch l : latches) {
            String named = l.getLeader().getId();
            require(named.equals(first.getId()), l.getId() + " names " + named + " the leader, not " + first.getId());
        }
        require(leaders(latches) == 1, "leaders: " + leaders(latches));
        first.close();
        latches.remove(first);
        waitFor("one of the 2 others takes over", () -> leaders(latches) == 1);
        LeaderLatch second = latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
        require(!second.getId().equals(first.getId()), "the same participant leads");
        for (LeaderLatch l : latches) {
            l.close();
        }
        return "exactly one of 3 leads; when it closes exactly one of the others takes over";
    }

    static int leaders(List<LeaderLatch> latches) {
        int n = 0;
        for (LeaderLatch l : latches) {
            if (l.hasLeadership()) {
                n++;
            }
        }
        return n;
    }

    // --- DistributedQueue: items come out in the order they went in.

    static String distributedQueue() throws Exception {
        final String path = "/recipes/queue";
        final int items = 10;
        QueueSerializer<String> serializer = new QueueSerializer<String>() {
            public byte[] serialize(String item) {
                return bytes(item);
            }

            public String deserialize(byte[] b) {
                return text(b);
            }
        };
        BlockingQueue<String> received = new LinkedBlockingQueue<>();
        QueueConsumer<String> consumer = new QueueConsumer<String>() {
            public void consumeMessage(String message) {
                received.add(message);
            }

            public void stateChanged(CuratorFramework c, ConnectionState s) {
            }
        };
        DistributedQueue<String> consuming =
                QueueBuilder.builder(client(), consumer, serializer, path).buildQueue();
        consuming.start();
        DistributedQueue<String> producing =
                QueueBuilder.builder(client(), null, serializer, path).buildQueue();
        producing.start();
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < items; i++) {
            String item = "item-" + i;
            producing.put(item);
            sent.add(item);
        }
        List<String> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (got.size() < items) {
            long left = deadline - System.nanoTime();
            String item = received.poll(Math.max(left, 0), TimeUnit.NANOSECONDS);
            if (item == null) {
                throw new AssertionError("received only " + got + " within " + WAIT_MS + " ms");
            }
            got.add(item);
        }
        require(got.equals(sent), "received " + got + ", sent " + sent);
        producing.close();
        consuming.close();
        return items + " items received once each, in the order put";
    }

    // --- NodeCache: sees the node created, changed and deleted.

    static String nodeCache() throws Exception {
        final String path = "/recipes/nodecache";
        CuratorFramework c = client();
        NodeCache cache = new NodeCache(c, path);
        List<String> seen = new ArrayList<>();
        cache.getListenable().addListener(() -> {
            ChildData d = cache.getCurrentData();
            synchronized (seen) {
                seen.add(d == null ? "gone" : text(d.getData()));
            }
        });
        cache.start(true);
        require(cache.getCurrentData() == null, "data before the node exists");
        c.create().creatingParentsIfNeeded().forPath(path, bytes("v1"));
        waitFor("NodeCache sees v1", () -> last(seen, "v1"));
        c.setData().forPath(path, bytes("v2"));
        waitFor("NodeCache sees v2", () -> last(seen, "v2"));
        c.delete().forPath(path);
        waitFor("NodeCache sees the delete", () -> last(seen, "gone"));
        cache.close();
        return "create, set and delete each seen";
    }

    static boolean last(List<String> seen, String value) {
        synchronized (seen) {
            return !seen.isEmpty() && value.equals(seen.get(seen.size() - 1));
        }
    }

    // --- CuratorCache: events for a tree's creates, changes and deletes, in order.

    static String curatorCache() throws Exception {
        final String root = "/recipes/cc";
        CuratorFramework c = client();
        CuratorCache cache = CuratorCache.build(c, root);
        List<String> events = new ArrayList<>();
        CountDownLatch initialized = new CountDownLatch(1);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(d -> record(events, "create " + d.getPath() + "=" + text(d.getData())))
                .forChanges((before, after) -> record(events,
                        "change " + after.getPath() + " " + text(before.getData()) + "->" + text(after.getData())))
                .forDeletes(d -> record(events, "delete " + d.getPath()))
                .forInitialized(initialized::countDown)
                .build());
        cache.start();
        require(initialized.await(WAIT_MS, TimeUnit.MILLISECONDS), "cache not initialized");
        List<String> expected = new ArrayList<>();
        c.create().creatingParentsIfNeeded().forPath(root, bytes("r"));
        awaitEvent(events, expected, "create " + root + "=r");
        c.create().forPath(root + "/a", bytes("1"));
        awaitEvent(events, expected, "create " + root + "/a=1");
        c.setData().forPath(root + "/a", bytes("2"));
        awaitEvent(events, expected, "change " + root + "/a 1->2");
        c.delete().forPath(root + "/a");
        awaitEvent(events, expected, "delete " + root + "/a");
        c.delete().forPath(root);
        awaitEvent(events, expected, "delete " + root);
        cache.close();
        return "create, change and delete events for the root and a child, in order";
    }

    static void record(List<String> events, String event) {
        synchronized (events) {
            events.add(event);
        }
    }

    static void awaitEvent(List<String> events, List<String> expected, String next) throws InterruptedException {
        expected.add(next);
        waitFor("CuratorCache event " + next, () -> {
            synchronized (events) {
                return events.size() >= expected.size();
            }
        });
        synchronized (events) {
            require(events.equals(expected), "events " + events + ", expected " + expected);
        }
    }

    // --- PersistentTtlNode: there while its client lives, gone once it closes and the TTL passes.

    static String persistentTtlNode() throws Exception {
        final String path = "/recipes/ttl";
        final long ttlMs = 1000;
        CuratorFramework observer = client();
        CuratorFramework owner = client();
        PersistentTtlNode node = new PersistentTtlNode(owner, path, ttlMs, bytes("alive"));
        node.start();
        require(node.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS), "node not created");
        Stat parent = observer.checkExists().forPath(path);
        require(parent != null, path + " missing after the initial create");
        require(parent.getEphemeralOwner() == 0, "container has ephemeralOwner " + Long.toHexString(parent.getEphemeralOwner()));
        String touch = path + "/" + PersistentTtlNode.DEFAULT_CHILD_NODE_NAME;
        waitFor(touch + " created", () -> exists(observer, touch));
        // A TTL node, yet clients see ephemeralOwner 0: the server only
        // shows the owner of ordinary ephemerals.
        Stat child = observer.checkExists().forPath(touch);
        require(child.getEphemeralOwner() == 0,
                "touch node's ephemeralOwner is 0x" + Long.toHexString(child.getEphemeralOwner()));
        // While the owner lives it keeps touching the child: the node outlives
        // its TTL several times over.
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(4 * ttlMs);
        while (System.nanoTime() < until) {
            require(exists(observer, path), path + " vanished while its client lives");
            Thread.sleep(100);
        }
        require(text(observer.getData().forPath(path)).equals("alive"), "data changed");
        long closed = System.nanoTime();
        node.close();
        owner.close();
        waitFor(path + " removed after its client closed", () -> !exists(observer, path));
        System.err.printf("persistent-ttl-node: %s gone %d ms after close%n", path,
                (System.nanoTime() - closed) / 1_000_000);
        return "present for 4 TTLs while its client lives, removed after it closes";
    }

    static boolean exists(CuratorFramework c, String path) {
        try {
            return c.checkExists().forPath(path) != null;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
