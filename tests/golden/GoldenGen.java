// Writes the jute encoding of one fixed sample of every zookeeper.jute record, as Apache
// ZooKeeper's own classes produce it, to <out>/<RecordName>.hex (one line of lowercase hex).
// rust/zkcore/tests/golden.rs builds the same values with zkcore and compares the bytes.
//
// The sample values are chosen to catch encoding mistakes: negative and extreme integers,
// non-ASCII (BMP) strings, null and empty buffers, empty and multi-element vectors. Strings
// and vectors are never null here: zkcore reads a null string or vector as empty, so such a
// value cannot round-trip by design. Strings stay in the BMP because Apache writes a
// supplementary character as two 3-byte surrogates (CESU-8), not as standard UTF-8.
//
// Usage: java -cp <zookeeper.jar>:<zookeeper-jute.jar>:<classes> GoldenGen <out dir>

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.MultiResponse;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.data.StatPersisted;
import org.apache.zookeeper.proto.*;
import org.apache.zookeeper.server.persistence.FileHeader;
import org.apache.zookeeper.server.quorum.LearnerInfo;
import org.apache.zookeeper.server.quorum.QuorumAuthPacket;
import org.apache.zookeeper.server.quorum.QuorumPacket;
import org.apache.zookeeper.txn.*;

public final class GoldenGen {

    // ---- the sample values (golden.rs has the same ones) ----
    static final String PATH = "/golden/ünïcødé/路径";
    static final String TEXT = "Grüße, 世界";
    static final byte[] DATA = {0, 1, 2, (byte) 0x7f, (byte) 0x80, (byte) 0xfe, (byte) 0xff};
    static final byte[] EMPTY = {};
    static final List<String> NAMES = Arrays.asList("a", "", "ß", "节点-0000000001");

    static Stat stat() {
        return new Stat(0x0123456789abcdefL, -2L, 1700000000123L, Long.MIN_VALUE, -1,
            Integer.MAX_VALUE, Integer.MIN_VALUE, 0x7fffffffffffffffL, 7, -3, 42L);
    }

    static StatPersisted statPersisted() {
        return new StatPersisted(1L, -1L, 0L, 1700000000999L, 3, -4, 5, Long.MIN_VALUE, -6L);
    }

    static Id id() {
        return new Id("digest", "usér:Kx0w/ĥash=");
    }

    static List<ACL> acls() {
        return Arrays.asList(
            new ACL(31, new Id("world", "anyone")),
            new ACL(-1, id()),
            new ACL(1, new Id("ip", "127.0.0.1/8")));
    }

    // ---- output ----
    static Path out;

    static byte[] bytes(Record r) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        r.serialize(BinaryOutputArchive.getArchive(b), "r");
        return b.toByteArray();
    }

    static void emit(String name, byte[] b) throws IOException {
        StringBuilder s = new StringBuilder(b.length * 2 + 1);
        for (byte x : b) {
            s.append(String.format("%02x", x & 0xff));
        }
        s.append('\n');
        Files.write(out.resolve(name + ".hex"), s.toString().getBytes(StandardCharsets.US_ASCII));
    }

    static void emit(String name, Record r) throws IOException {
        emit(name, bytes(r));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.write(p, 0, p.length);
        }
        return b.toByteArray();
    }

    /** A length-prefixed frame, as ClientCnxn and ServerCnxn put it on the wire. */
    static byte[] frame(byte[] payload) {
        int n = payload.length;
        byte[] len = {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
        return concat(len, payload);
    }

    public static void main(String[] args) throws Exception {
        out = Paths.get(args[0]);
        Files.createDirectories(out);

        // org.apache.zookeeper.data
        emit("Id", id());
        emit("Acl", new ACL(Integer.MIN_VALUE, id()));
        emit("Stat", stat());
        emit("StatPersisted", statPersisted());
        emit("ClientInfo", new ClientInfo("sasl", "zk/ĥost@EXAMPLE.COM"));

        // org.apache.zookeeper.proto. ConnectRequest and ConnectResponse are followed on the
        // wire by a readOnly boolean that is not part of the jute record: zkcore's records
        // include it, so it is appended here the way ClientCnxn and ServerCnxn write it.
        emit("ConnectRequest", concat(
            bytes(new ConnectRequest(0, -5L, 30000, 0x1122334455667788L, DATA)), new byte[] {1}));
        emit("ConnectResponse", concat(
            bytes(new ConnectResponse(0, -30000, Long.MIN_VALUE, EMPTY)), new byte[] {0}));
        emit("SetWatches", new SetWatches(-7L, NAMES, Collections.emptyList(),
            Arrays.asList(PATH)));
        emit("SetWatches2", new SetWatches2(0x0fedcba987654321L, Arrays.asList(PATH),
            Arrays.asList("/x", "/y"), Collections.emptyList(), NAMES, Arrays.asList("/")));
        emit("RequestHeader", new RequestHeader(-2, 101));
        emit("MultiHeader", new MultiHeader(-1, true, -101));
        emit("AuthPacket", new AuthPacket(0, "digest", "user:pässword".getBytes(StandardCharsets.UTF_8)));
        emit("ReplyHeader", new ReplyHeader(Integer.MIN_VALUE, -1L, -112));
        emit("GetDataRequest", new GetDataRequest(PATH, true));
        emit("SetDataRequest", new SetDataRequest(PATH, null, -1));
        emit("ReconfigRequest", new ReconfigRequest("server.1=127.0.0.1:2888:3888;2181",
            "", TEXT, -1L));
        emit("SetDataResponse", new SetDataResponse(stat()));
        emit("GetSaslRequest", new GetSASLRequest(EMPTY));
        emit("SetSaslRequest", new SetSASLRequest(null));
        emit("SetSaslResponse", new SetSASLResponse(DATA));
        emit("CreateRequest", new CreateRequest(PATH, DATA, acls(), 3));
        emit("CreateTtlRequest", new CreateTTLRequest(PATH, EMPTY, acls(), 6, 0xffffffffffL));
        emit("DeleteRequest", new DeleteRequest(PATH, Integer.MIN_VALUE));
        emit("GetChildrenRequest", new GetChildrenRequest("/", false));
        emit("GetAllChildrenNumberRequest", new GetAllChildrenNumberRequest(PATH));
        emit("GetChildren2Request", new GetChildren2Request(PATH, true));
        emit("CheckVersionRequest", new CheckVersionRequest(PATH, -2));
        emit("GetMaxChildrenRequest", new GetMaxChildrenRequest(PATH));
        emit("GetMaxChildrenResponse", new GetMaxChildrenResponse(-1));
        emit("SetMaxChildrenRequest", new SetMaxChildrenRequest(PATH, 1 << 30));
        emit("SyncRequest", new SyncRequest(""));
        emit("SyncResponse", new SyncResponse(PATH));
        emit("GetAclRequest", new GetACLRequest(PATH));
        emit("SetAclRequest", new SetACLRequest(PATH, acls(), -1));
        emit("SetAclResponse", new SetACLResponse(stat()));
        emit("AddWatchRequest", new AddWatchRequest(PATH, 1));
        emit("WatcherEvent", new WatcherEvent(4, 3, PATH));
        emit("ErrorResponse", new ErrorResponse(-121));
        emit("CreateResponse", new CreateResponse(PATH + "0000000010"));
        emit("Create2Response", new Create2Response(PATH, stat()));
        emit("ExistsRequest", new ExistsRequest(PATH, true));
        emit("ExistsResponse", new ExistsResponse(stat()));
        emit("GetDataResponse", new GetDataResponse(null, stat()));
        emit("GetChildrenResponse", new GetChildrenResponse(NAMES));
        emit("GetAllChildrenNumberResponse", new GetAllChildrenNumberResponse(Integer.MAX_VALUE));
        emit("GetChildren2Response", new GetChildren2Response(Collections.emptyList(), stat()));
        emit("GetAclResponse", new GetACLResponse(acls(), stat()));
        emit("CheckWatchesRequest", new CheckWatchesRequest(PATH, 3));
        emit("RemoveWatchesRequest", new RemoveWatchesRequest(PATH, 2));
        emit("GetEphemeralsRequest", new GetEphemeralsRequest("/golden/"));
        emit("GetEphemeralsResponse", new GetEphemeralsResponse(NAMES));
        emit("WhoAmIResponse", new WhoAmIResponse(Arrays.asList(
            new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "usér"))));

        // org.apache.zookeeper.server.quorum and .persistence
        emit("LearnerInfo", new LearnerInfo(-1L, 0x10000, 0x100000003L));
        emit("QuorumPacket", new QuorumPacket(2, 0x500000001L, DATA, Arrays.asList(id(),
            new Id("ip", "10.0.0.1"))));
        emit("QuorumAuthPacket", new QuorumAuthPacket(0xfeedfacecafebeefL, -1, null));
        emit("FileHeader", new FileHeader(0x5a4b4c47, 2, -1L));

        // org.apache.zookeeper.txn
        emit("TxnDigest", new TxnDigest(2, -0x123456789L));
        emit("TxnHeader", new TxnHeader(0x10000abcdef0001L, -3, 0x100000002L, 1700000000456L, 14));
        emit("CreateTxnV0", new CreateTxnV0(PATH, DATA, acls(), true));
        emit("CreateTxn", new CreateTxn(PATH, null, acls(), false, -1));
        emit("CreateTtlTxn", new CreateTTLTxn(PATH, DATA, Collections.emptyList(), 9, 1L));
        emit("CreateContainerTxn", new CreateContainerTxn(PATH, EMPTY, acls(), Integer.MAX_VALUE));
        emit("DeleteTxn", new DeleteTxn(PATH));
        emit("SetDataTxn", new SetDataTxn(PATH, DATA, Integer.MIN_VALUE));
        emit("CheckVersionTxn", new CheckVersionTxn(PATH, 0));
        emit("SetAclTxn", new SetACLTxn(PATH, acls(), 11));
        emit("SetMaxChildrenTxn", new SetMaxChildrenTxn(PATH, -1));
        emit("CreateSessionTxn", new CreateSessionTxn(-40000));
        emit("CloseSessionTxn", new CloseSessionTxn(NAMES));
        emit("ErrorTxn", new ErrorTxn(-101));
        emit("Txn", new Txn(-1, null));
        List<Txn> txns = new ArrayList<>();
        txns.add(new Txn(1, bytes(new CreateTxn("/a", DATA, acls(), false, 1))));
        txns.add(new Txn(2, bytes(new DeleteTxn("/b"))));
        txns.add(new Txn(-1, bytes(new ErrorTxn(-110))));
        txns.add(new Txn(5, EMPTY));
        emit("MultiTxn", new MultiTxn(txns));

        // Multi requests and responses (zookeeper.jar).
        emit("MultiOperationRecord", new MultiOperationRecord(Arrays.asList(
            Op.create(PATH, DATA, acls(), CreateMode.PERSISTENT_SEQUENTIAL),
            Op.create("/c", null, acls(), CreateMode.CONTAINER),
            Op.create("/t", EMPTY, acls(), CreateMode.PERSISTENT_WITH_TTL, 5000L),
            Op.delete("/d", -1),
            Op.setData(PATH, EMPTY, 7),
            Op.check("/", Integer.MIN_VALUE))));
        emit("MultiReadRecord", new MultiOperationRecord(Arrays.asList(
            Op.getChildren(PATH), Op.getData("/"))));
        MultiResponse resp = new MultiResponse();
        resp.add(new OpResult.CreateResult(PATH + "0000000001"));
        resp.add(new OpResult.CreateResult("/c", stat()));
        resp.add(new OpResult.DeleteResult());
        resp.add(new OpResult.SetDataResult(stat()));
        resp.add(new OpResult.CheckResult());
        resp.add(new OpResult.GetChildrenResult(NAMES));
        resp.add(new OpResult.GetDataResult(DATA, stat()));
        resp.add(new OpResult.GetDataResult(null, stat()));
        resp.add(new OpResult.ErrorResult(-101));
        emit("MultiResponse", resp);

        // Whole frames: length, header, body.
        emit("RequestFrame", frame(concat(
            bytes(new RequestHeader(7, 15)),
            bytes(new CreateRequest(PATH, DATA, acls(), 1)))));
        emit("ReplyFrame", frame(concat(
            bytes(new ReplyHeader(7, 0x100000002L, 0)),
            bytes(new GetDataResponse(DATA, stat())))));
        emit("NotificationFrame", frame(concat(
            bytes(new ReplyHeader(-1, -1L, 0)),
            bytes(new WatcherEvent(1, 3, PATH)))));
        emit("ConnectFrame", frame(concat(
            bytes(new ConnectRequest(0, 0L, 4000, 0L, new byte[16])), new byte[] {0})));
    }
}
