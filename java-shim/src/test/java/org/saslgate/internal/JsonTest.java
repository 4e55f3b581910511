package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void readsAFlatObjectWithEveryValueKind() throws Exception {
        Map<String, Object> o = Json.parseObject(
                "{\"s\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\",\"n\":-12,\"d\":1.5e3,\"t\":true,\"f\":false,\"z\":null,\"g\":[\"x\",\"y\"]}");
        assertEquals("a\"b\\c\n\u00e9\uD83D\uDE00", o.get("s"));
        assertEquals(-12L, o.get("n"));
        assertEquals(1500.0, o.get("d"));
        assertEquals(Boolean.TRUE, o.get("t"));
        assertEquals(Boolean.FALSE, o.get("f"));
        assertTrue(o.containsKey("z"));
        assertNull(o.get("z"));
        assertArrayEquals(new String[] {"x", "y"}, Json.strings(o, "g"));
    }

    @Test
    void refusesDuplicateKeys() {
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse("{\"a\":1,\"a\":2}"));
        assertTrue(e.getMessage().contains("duplicate member \"a\""), e.getMessage());
    }

    @Test
    void refusesTrailingContentLeadingZerosControlCharactersAndLoneSurrogates() {
        for (String bad : new String[] {"{} x", "01", "\"a\u0001\"", "\"\\ud800\"", "\"\\ude00\"", "[1,]", "{\"a\"}",
                "\"\\x\"", "tru", "-", "1.", "{\"a\":1", "\"abc"}) {
            assertThrows(Json.JsonException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void refusesNestingDeeperThanTheLimit() throws Exception {
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting deeper than 16"), e.getMessage());
        Json.parse("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH));
    }

    @Test
    void writesEscapesAndRoundTrips() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"\\\n\u0001\u2028");
        m.put("n", 42L);
        m.put("i", 7);
        m.put("b", true);
        m.put("z", null);
        m.put("g", List.of("a", "b\""));
        String text = Json.write(m);
        assertEquals("{\"s\":\"q\\\"\\\\\\n\\u0001\\u2028\",\"n\":42,\"i\":7,\"b\":true,\"z\":null,\"g\":[\"a\",\"b\\\"\"]}", text);
        Map<String, Object> back = Json.parseObject(text);
        assertEquals(m.get("s"), back.get("s"));
        assertEquals(42L, back.get("n"));
    }

    @Test
    void typedAccessorsNameTheMemberOnATypeMismatch() throws Exception {
        Map<String, Object> o = Json.parseObject("{\"a\":1,\"g\":[1]}");
        assertEquals("member \"a\" is not a string",
                assertThrows(Json.JsonException.class, () -> Json.string(o, "a")).getMessage());
        assertEquals("member \"g\" is not an array of strings",
                assertThrows(Json.JsonException.class, () -> Json.strings(o, "g")).getMessage());
        assertEquals("member \"x\" is missing",
                assertThrows(Json.JsonException.class, () -> Json.requiredString(o, "x")).getMessage());
    }
}
