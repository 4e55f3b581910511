package org.saslgate.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The groups saslgate extracted from the tokens this JVM accepted: authorization identity →
 * (groups, token expiry). {@link SaslGateSaslServer} records an entry on every successful
 * OAUTHBEARER exchange; {@link org.saslgate.SaslGateGroupsMapping} (Hadoop's
 * {@code GroupMappingServiceProvider}) answers {@code getGroups(user)} from it.
 *
 * <p>Bounds: at most {@code maxEntries} identities (the least recently recorded or looked-up
 * one is dropped first), and an entry is served only until its token's {@code exp}; expired
 * entries are removed when met. A later exchange of the same identity replaces its entry (the
 * newest token's groups win). Nothing secret is kept: no token, only names.
 *
 * <p>The JVM-wide instance is {@link #shared()}; its size comes from the system property
 * {@value #MAX_ENTRIES_PROPERTY} (default {@value #DEFAULT_MAX_ENTRIES}). Thread-safe.
 */
public final class GroupRegistry {
    /** System property: the shared registry's maximum number of identities (a positive integer). */
    public static final String MAX_ENTRIES_PROPERTY = "saslgate.groups.maxEntries";
    /** The shared registry's default size. */
    public static final int DEFAULT_MAX_ENTRIES = 10_000;

    private static final class Holder {
        static final GroupRegistry SHARED = new GroupRegistry(sharedSize(), () -> System.currentTimeMillis() / 1000);
    }

    private static final class Entry {
        final List<String> groups;
        final long expiresAtSecs;

        Entry(List<String> groups, long expiresAtSecs) {
            this.groups = groups;
            this.expiresAtSecs = expiresAtSecs;
        }
    }

    private final int maxEntries;
    private final LongSupplier nowSecs;
    private final LinkedHashMap<String, Entry> entries;

    /**
     * @param maxEntries the maximum number of identities kept, at least 1
     * @param nowSecs the clock, Unix seconds
     * @throws IllegalArgumentException if {@code maxEntries} is below 1
     */
    public GroupRegistry(int maxEntries, LongSupplier nowSecs) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("saslgate: the group registry needs at least 1 entry, got " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.nowSecs = nowSecs;
        // Access order: a lookup keeps an identity that is in use.
        this.entries = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** @return the JVM-wide registry the SASL server records into */
    public static GroupRegistry shared() {
        return Holder.SHARED;
    }

    private static int sharedSize() {
        String v = System.getProperty(MAX_ENTRIES_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_MAX_ENTRIES;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("saslgate: " + MAX_ENTRIES_PROPERTY + " must be a positive integer, got \"" + v + "\"");
    }

    /**
     * Records (or replaces) an identity's groups until its token expires. An entry that is
     * already expired, or whose expiry is unknown, is not recorded (and any older entry of the
     * identity is dropped, so stale groups are never served).
     *
     * @param authorizationId the mapped identity, never null
     * @param groups the groups (null means none); copied
     * @param expiresAtSecs the token's {@code exp}, Unix seconds, or -1 when unknown
     */
    public synchronized void record(String authorizationId, String[] groups, long expiresAtSecs) {
        if (expiresAtSecs < 0 || expiresAtSecs <= nowSecs.getAsLong()) {
            entries.remove(authorizationId);
            return;
        }
        List<String> copy = groups == null ? List.of() : List.copyOf(Arrays.asList(groups));
        entries.remove(authorizationId);
        entries.put(authorizationId, new Entry(copy, expiresAtSecs));
        Iterator<String> oldest = entries.keySet().iterator();
        while (entries.size() > maxEntries && oldest.hasNext()) {
            oldest.next();
            oldest.remove();
        }
    }

    /**
     * @param authorizationId the identity
     * @return its groups (unmodifiable, possibly empty) while its token is valid, else null
     *     (never seen, evicted or expired)
     */
    public synchronized List<String> groups(String authorizationId) {
        Entry e = entries.get(authorizationId);
        if (e == null) {
            return null;
        }
        if (e.expiresAtSecs <= nowSecs.getAsLong()) {
            entries.remove(authorizationId);
            return null;
        }
        return e.groups;
    }

    /**
     * @return the identities with an unexpired entry, oldest use first (a snapshot); expired
     *     entries are removed on the way
     */
    public synchronized List<String> identities() {
        long now = nowSecs.getAsLong();
        List<String> out = new ArrayList<>(entries.size());
        for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext();) {
            Map.Entry<String, Entry> e = it.next();
            if (e.getValue().expiresAtSecs <= now) {
                it.remove();
            } else {
                out.add(e.getKey());
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** @return the number of entries held (expired ones not yet met included) */
    public synchronized int size() {
        return entries.size();
    }

    /** Drops every entry. */
    public synchronized void clear() {
        entries.clear();
    }
}
