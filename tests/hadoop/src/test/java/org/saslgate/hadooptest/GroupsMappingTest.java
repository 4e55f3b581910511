package org.saslgate.hadooptest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.GroupMappingServiceProvider;
import org.apache.hadoop.security.Groups;
import org.apache.hadoop.security.HadoopKerberosName;
import org.apache.hadoop.security.NullGroupsMapping;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.saslgate.SaslGateGroupsMapping;
import org.saslgate.internal.GroupRegistry;

/**
 * {@link SaslGateGroupsMapping} inside Hadoop (the patched hadoop-common's classes): lookup by
 * the recorded identity and by its {@code auth_to_local} short name, expiry, the fallback
 * provider, a bad fallback, and Hadoop's own {@link Groups} service instantiating it from
 * {@code hadoop.security.group.mapping}. A registry of its own with a settable clock; the RPC
 * tests ({@link HadoopRpcE2E}) cover the registry the SASL server fills.
 */
class GroupsMappingTest {
    private final AtomicLong now = new AtomicLong(2_000_000_000L);

    @BeforeAll
    static void rules() {
        // The defaults of configs/hadoop/core-site.xml.
        HadoopKerberosName.setRules("RULE:[1:$1] RULE:[2:$1]");
    }

    /** A fallback that answers every user with one group (a fixed answer, like a directory would). */
    public static final class StaticGroups implements GroupMappingServiceProvider {
        @Override
        public List<String> getGroups(String user) {
            return List.of("unix-" + user);
        }

        @Override
        public void cacheGroupsRefresh() {}

        @Override
        public void cacheGroupsAdd(List<String> groups) {}
    }

    @Test
    void servesRecordedGroupsByIdentityAndByShortName() throws Exception {
        GroupRegistry r = new GroupRegistry(100, now::get);
        r.record("hdfs-client", new String[] {"hadoop-users"}, now.get() + 60);
        r.record("alice@idp.example.org", new String[] {"hadoop-admins"}, now.get() + 60);
        SaslGateGroupsMapping m = new SaslGateGroupsMapping(r);
        m.setConf(new Configuration(false));
        assertEquals(List.of("hadoop-users"), m.getGroups("hdfs-client"));
        assertEquals(List.of("hadoop-admins"), m.getGroups("alice"), "short name of alice@idp.example.org");
        assertEquals(List.of("hadoop-admins"), m.getGroups("alice@idp.example.org"));
        assertEquals(List.of(), m.getGroups("bob"), "never seen, no fallback");
        now.addAndGet(60);
        assertEquals(List.of(), m.getGroups("hdfs-client"), "the token expired");
    }

    @Test
    void unseenUsersGoToTheFallback() throws Exception {
        GroupRegistry r = new GroupRegistry(100, now::get);
        r.record("hdfs-client", new String[] {"hadoop-users"}, now.get() + 60);
        Configuration conf = new Configuration(false);
        conf.set(SaslGateGroupsMapping.FALLBACK_KEY, StaticGroups.class.getName());
        SaslGateGroupsMapping m = new SaslGateGroupsMapping(r);
        m.setConf(conf);
        assertEquals(List.of("hadoop-users"), m.getGroups("hdfs-client"));
        assertEquals(List.of("unix-krbuser"), m.getGroups("krbuser"));
    }

    @Test
    void badFallbackIsRefusedWithItsName() {
        for (String bad : new String[] {"org.example.Missing", "java.lang.String", SaslGateGroupsMapping.class.getName()}) {
            Configuration conf = new Configuration(false);
            conf.set(SaslGateGroupsMapping.FALLBACK_KEY, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SaslGateGroupsMapping(new GroupRegistry(1, now::get)).setConf(conf), bad);
            assertTrue(e.getMessage().contains(SaslGateGroupsMapping.FALLBACK_KEY) && e.getMessage().contains(bad),
                    e.getMessage());
        }
    }

    @Test
    void hadoopGroupsServiceLoadsItFromTheConfiguration() throws Exception {
        Configuration conf = new Configuration(false);
        conf.set("hadoop.security.group.mapping", SaslGateGroupsMapping.class.getName());
        conf.set(SaslGateGroupsMapping.FALLBACK_KEY, NullGroupsMapping.class.getName());
        GroupRegistry.shared().record("groups-service-user", new String[] {"g1", "g2"}, System.currentTimeMillis() / 1000 + 60);
        Groups groups = new Groups(conf);
        assertEquals(List.of("g1", "g2"), groups.getGroups("groups-service-user"));
    }
}
