package org.saslgate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.GroupMappingServiceProvider;
import org.apache.hadoop.security.HadoopKerberosName;
import org.apache.hadoop.util.ReflectionUtils;
import org.saslgate.internal.GroupRegistry;

/**
 * A Hadoop {@link GroupMappingServiceProvider} that answers with the groups saslgate extracted
 * from the caller's token (the {@code groups} of the matching {@code [[principal.rules]]}, e.g.
 * Keycloak realm roles), so service-level ACLs ({@code hadoop-policy.xml}) and proxy-user rules
 * ({@code hadoop.proxyuser.<user>.groups}) can name IdP groups.
 *
 * <p>Enable it in the RPC server's {@code core-site.xml}:
 * {@code hadoop.security.group.mapping=org.saslgate.SaslGateGroupsMapping}. It serves what the
 * shim's OAUTHBEARER {@code SaslServer} recorded in this JVM ({@link GroupRegistry#shared()}) on
 * each successful exchange, until that token's {@code exp}. {@code getGroups(user)} looks up
 * {@code user} as recorded (the saslgate authorization id), then among the recorded identities
 * whose Hadoop short name ({@code hadoop.security.auth_to_local}) is {@code user} (the union of
 * their groups). A user never seen over OAUTHBEARER in this JVM, or whose token expired, gets the
 * fallback provider's answer when {@value #FALLBACK_KEY} names one (e.g.
 * {@code org.apache.hadoop.security.ShellBasedUnixGroupsMapping} for Kerberos users of a mixed
 * cluster), else an empty list (Hadoop then reports "No groups found" and may cache that for
 * {@code hadoop.security.groups.negative-cache.secs}).
 *
 * <p>Hadoop's {@code Groups} caches answers for {@code hadoop.security.groups.cache.secs}
 * (default 300): a group removed in the IdP can be served that long after a new token drops it.
 * Keep that cache short (see configs/hadoop/core-site.xml).
 *
 * <p>Hadoop classes are a compile-time ({@code provided}, optional) dependency of the shim: the
 * class is only loaded inside a Hadoop JVM. Thread-safe.
 */
public final class SaslGateGroupsMapping implements GroupMappingServiceProvider, Configurable {
    /** Configuration key: the class of the provider asked for users saslgate has not seen (optional). */
    public static final String FALLBACK_KEY = "hadoop.security.group.mapping.saslgate.fallback";

    private final GroupRegistry registry;
    private volatile Configuration conf;
    private volatile GroupMappingServiceProvider fallback;

    /** The mapping over the JVM-wide registry (the constructor Hadoop's {@code Groups} calls). */
    public SaslGateGroupsMapping() {
        this(GroupRegistry.shared());
    }

    /**
     * @param registry the registry to read, never null (tests pass their own)
     */
    public SaslGateGroupsMapping(GroupRegistry registry) {
        this.registry = registry;
    }

    /**
     * Reads {@value #FALLBACK_KEY} and creates that provider with {@code conf}.
     *
     * @param conf the configuration, may be null (then no fallback)
     * @throws IllegalArgumentException when the fallback class cannot be loaded, is this class, or
     *     is not a {@link GroupMappingServiceProvider} (message names the key and the class)
     */
    @Override
    public void setConf(Configuration conf) {
        this.conf = conf;
        GroupMappingServiceProvider fb = null;
        String name = conf == null ? "" : conf.getTrimmed(FALLBACK_KEY, "");
        if (!name.isEmpty()) {
            Class<?> cls;
            try {
                cls = conf.getClassByName(name);
            } catch (ClassNotFoundException e) {
                throw new IllegalArgumentException("saslgate: " + FALLBACK_KEY + " names a class that cannot be loaded: " + name, e);
            }
            if (cls == SaslGateGroupsMapping.class || !GroupMappingServiceProvider.class.isAssignableFrom(cls)) {
                throw new IllegalArgumentException("saslgate: " + FALLBACK_KEY + " must name another "
                        + GroupMappingServiceProvider.class.getName() + ", got " + name);
            }
            fb = (GroupMappingServiceProvider) ReflectionUtils.newInstance(cls, conf);
        }
        this.fallback = fb;
    }

    @Override
    public Configuration getConf() {
        return conf;
    }

    /**
     * @param user a Hadoop user name (short name, or the authorization id as recorded)
     * @return the groups from the user's unexpired token(s), else the fallback's answer, else an
     *     empty list; never null
     * @throws IOException only from the fallback provider
     */
    @Override
    public List<String> getGroups(String user) throws IOException {
        List<String> exact = registry.groups(user);
        if (exact != null) {
            return new ArrayList<>(exact);
        }
        Set<String> union = null;
        for (String id : registry.identities()) {
            if (!user.equals(shortName(id))) {
                continue;
            }
            List<String> g = registry.groups(id);
            if (g != null) {
                if (union == null) {
                    union = new LinkedHashSet<>();
                }
                union.addAll(g);
            }
        }
        if (union != null) {
            return new ArrayList<>(union);
        }
        GroupMappingServiceProvider fb = fallback;
        return fb == null ? new ArrayList<>() : fb.getGroups(user);
    }

    /** The Hadoop short name of a recorded identity, or null when no auth_to_local rule maps it. */
    private static String shortName(String id) {
        try {
            return new HadoopKerberosName(id).getShortName();
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    /** Passes the refresh to the fallback; the registry itself follows token expiry. */
    @Override
    public void cacheGroupsRefresh() throws IOException {
        GroupMappingServiceProvider fb = fallback;
        if (fb != null) {
            fb.cacheGroupsRefresh();
        }
    }

    /** Passes the groups to the fallback; the registry only holds what tokens said. */
    @Override
    public void cacheGroupsAdd(List<String> groups) throws IOException {
        GroupMappingServiceProvider fb = fallback;
        if (fb != null) {
            fb.cacheGroupsAdd(groups);
        }
    }
}
