package org.saslgate.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON (RFC 8259) reader and writer for the daemon API's flat request and
 * response objects ({@code docs/openapi.json}); the shim may have no runtime dependencies.
 *
 * <p>Reading accepts one value of: object, array, string (all RFC 8259 escapes, surrogate pairs
 * checked), number (integers become {@link Long}, others {@link Double}), {@code true},
 * {@code false}, {@code null}. It refuses duplicate keys, unescaped control characters, lone
 * surrogates, leading zeros, trailing content and nesting deeper than {@value #MAX_DEPTH}. Objects
 * come back as an unmodifiable {@code Map<String, Object>} in document order; a JSON {@code null}
 * member is a key mapped to Java {@code null}. Input size is bounded by the caller (the HTTP
 * transport's response limit).
 *
 * <p>Writing takes a flat {@code Map<String, ?>} whose values are {@link String}, {@link Long},
 * {@link Integer}, {@link Boolean}, {@code null} or a {@code List<String>}.
 */
final class Json {
    /** Maximum nesting of objects and arrays accepted by {@link #parse}. */
    static final int MAX_DEPTH = 16;

    private final String text;
    private int pos;

    private Json(String text) {
        this.text = text;
    }

    /** A malformed JSON document; the message names the offset (in UTF-16 units) and problem. */
    static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    /**
     * Parses a whole document.
     *
     * @param text the JSON text, never null
     * @return the value: a {@code Map}, {@code List}, {@code String}, {@code Long}, {@code Double},
     *     {@code Boolean} or null for JSON {@code null}
     * @throws JsonException if the text is not exactly one well-formed JSON value
     */
    static Object parse(String text) throws JsonException {
        Json p = new Json(text);
        p.skipWhitespace();
        Object value = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) {
            throw p.error("trailing content");
        }
        return value;
    }

    /**
     * Parses a document that must be an object.
     *
     * @param text the JSON text, never null
     * @return the object's members, never null
     * @throws JsonException if the text is malformed or not an object
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> parseObject(String text) throws JsonException {
        Object value = parse(text);
        if (!(value instanceof Map)) {
            throw new JsonException("expected a JSON object");
        }
        return (Map<String, Object>) value;
    }

    /**
     * Writes a flat object.
     *
     * @param members the members in order; values: String, Long, Integer, Boolean, null or
     *     List&lt;String&gt;
     * @return the compact JSON text, never null
     * @throws IllegalArgumentException for any other value type
     */
    static String write(Map<String, ?> members) {
        StringBuilder out = new StringBuilder();
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, ?> e : members.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            writeString(out, e.getKey());
            out.append(':');
            writeValue(out, e.getValue());
        }
        return out.append('}').toString();
    }

    private static void writeValue(StringBuilder out, Object v) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof String) {
            writeString(out, (String) v);
        } else if (v instanceof Long || v instanceof Integer || v instanceof Boolean) {
            out.append(v);
        } else if (v instanceof List) {
            out.append('[');
            boolean first = true;
            for (Object item : (List<?>) v) {
                if (!(item instanceof String)) {
                    throw new IllegalArgumentException("json: arrays of strings only");
                }
                if (!first) {
                    out.append(',');
                }
                first = false;
                writeString(out, (String) item);
            }
            out.append(']');
        } else {
            throw new IllegalArgumentException("json: unsupported value type " + v.getClass().getName());
        }
    }

    private static void writeString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                case '\b':
                    out.append("\\b");
                    break;
                case '\f':
                    out.append("\\f");
                    break;
                default:
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    private JsonException error(String problem) {
        return new JsonException("malformed JSON at offset " + pos + ": " + problem);
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private Object value(int depth) throws JsonException {
        if (pos >= text.length()) {
            throw error("unexpected end");
        }
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected character '" + c + "'");
        }
    }

    private Object literal(String word, Object value) throws JsonException {
        if (!text.startsWith(word, pos)) {
            throw error("expected " + word);
        }
        pos += word.length();
        return value;
    }

    private Map<String, Object> object(int depth) throws JsonException {
        if (depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        pos++;
        Map<String, Object> members = new LinkedHashMap<>();
        skipWhitespace();
        if (pos < text.length() && text.charAt(pos) == '}') {
            pos++;
            return Collections.unmodifiableMap(members);
        }
        while (true) {
            skipWhitespace();
            if (pos >= text.length() || text.charAt(pos) != '"') {
                throw error("expected a member name");
            }
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            Object v = value(depth);
            if (members.containsKey(key)) {
                throw error("duplicate member \"" + key + "\"");
            }
            members.put(key, v);
            skipWhitespace();
            if (pos < text.length() && text.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect('}');
            return Collections.unmodifiableMap(members);
        }
    }

    private List<Object> array(int depth) throws JsonException {
        if (depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        pos++;
        List<Object> items = new ArrayList<>();
        skipWhitespace();
        if (pos < text.length() && text.charAt(pos) == ']') {
            pos++;
            return Collections.unmodifiableList(items);
        }
        while (true) {
            skipWhitespace();
            items.add(value(depth));
            skipWhitespace();
            if (pos < text.length() && text.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect(']');
            return Collections.unmodifiableList(items);
        }
    }

    private void expect(char c) throws JsonException {
        if (pos >= text.length() || text.charAt(pos) != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private String string() throws JsonException {
        pos++;
        StringBuilder out = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(pos++);
            if (c == '"') {
                return out.toString();
            } else if (c == '\\') {
                if (pos >= text.length()) {
                    throw error("unterminated escape");
                }
                char e = text.charAt(pos++);
                switch (e) {
                    case '"':
                    case '\\':
                    case '/':
                        out.append(e);
                        break;
                    case 'b':
                        out.append('\b');
                        break;
                    case 'f':
                        out.append('\f');
                        break;
                    case 'n':
                        out.append('\n');
                        break;
                    case 'r':
                        out.append('\r');
                        break;
                    case 't':
                        out.append('\t');
                        break;
                    case 'u':
                        out.append(unicodeEscape());
                        break;
                    default:
                        throw error("invalid escape \\" + e);
                }
            } else if (c < 0x20) {
                throw error("unescaped control character in string");
            } else if (Character.isHighSurrogate(c)) {
                if (pos >= text.length() || !Character.isLowSurrogate(text.charAt(pos))) {
                    throw error("lone surrogate");
                }
                out.append(c).append(text.charAt(pos++));
            } else if (Character.isLowSurrogate(c)) {
                throw error("lone surrogate");
            } else {
                out.append(c);
            }
        }
    }

    private String unicodeEscape() throws JsonException {
        char high = hex4();
        if (Character.isLowSurrogate(high)) {
            throw error("lone surrogate escape");
        }
        if (!Character.isHighSurrogate(high)) {
            return String.valueOf(high);
        }
        if (!text.startsWith("\\u", pos)) {
            throw error("lone surrogate escape");
        }
        pos += 2;
        char low = hex4();
        if (!Character.isLowSurrogate(low)) {
            throw error("lone surrogate escape");
        }
        return new String(new char[] {high, low});
    }

    private char hex4() throws JsonException {
        if (pos + 4 > text.length()) {
            throw error("short \\u escape");
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(text.charAt(pos + i), 16);
            if (d < 0) {
                throw error("invalid hex digit in \\u escape");
            }
            v = v * 16 + d;
        }
        pos += 4;
        return (char) v;
    }

    private Object number() throws JsonException {
        int start = pos;
        if (text.charAt(pos) == '-') {
            pos++;
        }
        int intStart = pos;
        digits();
        if (pos - intStart > 1 && text.charAt(intStart) == '0') {
            throw error("leading zero");
        }
        boolean integral = true;
        if (pos < text.length() && text.charAt(pos) == '.') {
            integral = false;
            pos++;
            digits();
        }
        if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
            integral = false;
            pos++;
            if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) {
                pos++;
            }
            digits();
        }
        String n = text.substring(start, pos);
        try {
            return integral ? (Object) Long.valueOf(n) : (Object) Double.valueOf(n);
        } catch (NumberFormatException e) {
            throw error("number out of range");
        }
    }

    private void digits() throws JsonException {
        int start = pos;
        while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
            pos++;
        }
        if (pos == start) {
            throw error("expected a digit");
        }
    }

    /**
     * The member {@code key} as a string.
     *
     * @return the string, or null when absent or JSON null
     * @throws JsonException when present with another type
     */
    static String string(Map<String, Object> o, String key) throws JsonException {
        Object v = o.get(key);
        if (v == null || v instanceof String) {
            return (String) v;
        }
        throw new JsonException("member \"" + key + "\" is not a string");
    }

    /**
     * The member {@code key} as a required string.
     *
     * @return the string, never null
     * @throws JsonException when absent or of another type
     */
    static String requiredString(Map<String, Object> o, String key) throws JsonException {
        String s = string(o, key);
        if (s == null) {
            throw new JsonException("member \"" + key + "\" is missing");
        }
        return s;
    }

    /**
     * The member {@code key} as a required boolean.
     *
     * @throws JsonException when absent or of another type
     */
    static boolean requiredBoolean(Map<String, Object> o, String key) throws JsonException {
        Object v = o.get(key);
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        throw new JsonException("member \"" + key + "\" is not a boolean");
    }

    /**
     * The member {@code key} as an integer.
     *
     * @return the value, or {@code absent} when missing or JSON null
     * @throws JsonException when present with another type
     */
    static long integer(Map<String, Object> o, String key, long absent) throws JsonException {
        Object v = o.get(key);
        if (v == null) {
            return absent;
        }
        if (v instanceof Long) {
            return (Long) v;
        }
        throw new JsonException("member \"" + key + "\" is not an integer");
    }

    /**
     * The member {@code key} as an array of strings.
     *
     * @return the strings, or null when absent or JSON null
     * @throws JsonException when present with another type
     */
    static String[] strings(Map<String, Object> o, String key) throws JsonException {
        Object v = o.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List)) {
            throw new JsonException("member \"" + key + "\" is not an array");
        }
        List<?> list = (List<?>) v;
        String[] out = new String[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof String)) {
                throw new JsonException("member \"" + key + "\" is not an array of strings");
            }
            out[i] = (String) list.get(i);
        }
        return out;
    }
}
