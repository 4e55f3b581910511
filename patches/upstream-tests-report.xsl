<?xml version="1.0" encoding="UTF-8"?>
<!--
  Side-by-side Markdown report of two Surefire runs of the same upstream tests: against the
  patched classes and against the unpatched upstream jar. Used by the antrun execution
  check-upstream-tests of the poms under patches/.

  Input: <runs><p>TEST-x.xml</p>...<u>TEST-x.xml</u>...</runs>, the Surefire XML report file
  names of the patched (p) and the unpatched (u) run. Parameters: patchedUrl, unpatchedUrl (file: URLs of the two Surefire
  report directories) and title. Reads each report with document(); a class missing from one
  run shows "not run". XSLT 1.0 plus exsl:node-set, which the JDK's built-in processor has.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:exsl="http://exslt.org/common" exclude-result-prefixes="exsl">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:param name="patchedUrl"/>
  <xsl:param name="unpatchedUrl"/>
  <xsl:param name="title"/>

  <!-- Report directories as base URLs ending in '/'. -->
  <xsl:variable name="pbase">
    <xsl:value-of select="$patchedUrl"/>
    <xsl:if test="substring($patchedUrl, string-length($patchedUrl)) != '/'">/</xsl:if>
  </xsl:variable>
  <xsl:variable name="ubase">
    <xsl:value-of select="$unpatchedUrl"/>
    <xsl:if test="substring($unpatchedUrl, string-length($unpatchedUrl)) != '/'">/</xsl:if>
  </xsl:variable>
  <!-- Every report file name once, from either run. -->
  <xsl:variable name="files" select="/runs/*[not(. = preceding-sibling::*)]"/>

  <xsl:template match="/">
    <xsl:text># </xsl:text><xsl:value-of select="$title"/><xsl:text>&#10;&#10;</xsl:text>
    <xsl:text>Per test class: passed / failed (failures + errors) / skipped, and the time in seconds.&#10;</xsl:text>
    <xsl:text>Verdict: `ok` passes on the patched classes; `REGRESSION` fails only on the patched classes;&#10;</xsl:text>
    <xsl:text>`fails on both` is an environment issue (exclude it in upstream-tests-excluded.txt with a reason).&#10;</xsl:text>
    <xsl:text>Any failure on the patched classes fails the build. A failed test method is re-run; "flaky"&#10;</xsl:text>
    <xsl:text>counts those that then passed (listed at the end).&#10;&#10;</xsl:text>

    <xsl:variable name="p-copy">
      <xsl:for-each select="/runs/p"><xsl:copy-of select="document(concat($pbase, .))/testsuite"/></xsl:for-each>
    </xsl:variable>
    <xsl:variable name="u-copy">
      <xsl:for-each select="/runs/u"><xsl:copy-of select="document(concat($ubase, .))/testsuite"/></xsl:for-each>
    </xsl:variable>
    <xsl:variable name="p-all" select="exsl:node-set($p-copy)/testsuite"/>
    <xsl:variable name="u-all" select="exsl:node-set($u-copy)/testsuite"/>
    <xsl:text>| Test class | Patched: pass / fail / skip | time (s) | Unpatched: pass / fail / skip | time (s) | Verdict |&#10;</xsl:text>
    <xsl:text>|---|---|---|---|---|---|&#10;</xsl:text>
    <xsl:for-each select="$files">
      <xsl:sort select="."/>
      <xsl:variable name="name" select="string(.)"/>
      <xsl:variable name="p" select="$p-all[concat('TEST-', @name, '.xml') = $name]"/>
      <xsl:variable name="u" select="$u-all[concat('TEST-', @name, '.xml') = $name]"/>
      <xsl:text>| `</xsl:text>
      <xsl:value-of select="substring-before(substring-after(., 'TEST-'), '.xml')"/>
      <xsl:text>` | </xsl:text>
      <xsl:call-template name="counts"><xsl:with-param name="s" select="$p"/></xsl:call-template>
      <xsl:text> | </xsl:text>
      <xsl:call-template name="secs"><xsl:with-param name="s" select="$p"/></xsl:call-template>
      <xsl:text> | </xsl:text>
      <xsl:call-template name="counts"><xsl:with-param name="s" select="$u"/></xsl:call-template>
      <xsl:text> | </xsl:text>
      <xsl:call-template name="secs"><xsl:with-param name="s" select="$u"/></xsl:call-template>
      <xsl:text> | </xsl:text>
      <xsl:variable name="pf" select="number($p/@failures) + number($p/@errors)"/>
      <xsl:variable name="uf" select="number($u/@failures) + number($u/@errors)"/>
      <xsl:choose>
        <xsl:when test="not($p)">not run on patched</xsl:when>
        <xsl:when test="$pf &gt; 0 and (not($u) or $uf = 0)">**REGRESSION**</xsl:when>
        <xsl:when test="$pf &gt; 0">**fails on both**</xsl:when>
        <xsl:otherwise>ok</xsl:otherwise>
      </xsl:choose>
      <xsl:text> |&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>| **Total** (</xsl:text>
    <xsl:value-of select="count($files)"/>
    <xsl:text> classes) | </xsl:text>
    <xsl:call-template name="counts"><xsl:with-param name="s" select="$p-all"/></xsl:call-template>
    <xsl:text> | </xsl:text>
    <xsl:call-template name="secs"><xsl:with-param name="s" select="$p-all"/></xsl:call-template>
    <xsl:text> | </xsl:text>
    <xsl:call-template name="counts"><xsl:with-param name="s" select="$u-all"/></xsl:call-template>
    <xsl:text> | </xsl:text>
    <xsl:call-template name="secs"><xsl:with-param name="s" select="$u-all"/></xsl:call-template>
    <xsl:text> | |&#10;</xsl:text>

    <xsl:text>&#10;## Failed test cases&#10;&#10;</xsl:text>
    <xsl:variable name="pfail" select="$p-all/testcase[failure or error]"/>
    <xsl:variable name="ufail" select="$u-all/testcase[failure or error]"/>
    <xsl:text>Patched: </xsl:text>
    <xsl:choose>
      <xsl:when test="$pfail">
        <xsl:text>&#10;&#10;</xsl:text>
        <xsl:for-each select="$pfail"><xsl:call-template name="case"/></xsl:for-each>
      </xsl:when>
      <xsl:otherwise><xsl:text>none.&#10;</xsl:text></xsl:otherwise>
    </xsl:choose>
    <xsl:text>&#10;Unpatched: </xsl:text>
    <xsl:choose>
      <xsl:when test="$ufail">
        <xsl:text>&#10;&#10;</xsl:text>
        <xsl:for-each select="$ufail"><xsl:call-template name="case"/></xsl:for-each>
      </xsl:when>
      <xsl:otherwise><xsl:text>none.&#10;</xsl:text></xsl:otherwise>
    </xsl:choose>

    <xsl:text>&#10;## Flaky test cases (failed, then passed on a re-run)&#10;&#10;</xsl:text>
    <xsl:call-template name="flakes">
      <xsl:with-param name="label">Patched: </xsl:with-param>
      <xsl:with-param name="cases" select="$p-all/testcase[flakyFailure or flakyError]"/>
    </xsl:call-template>
    <xsl:text>&#10;</xsl:text>
    <xsl:call-template name="flakes">
      <xsl:with-param name="label">Unpatched: </xsl:with-param>
      <xsl:with-param name="cases" select="$u-all/testcase[flakyFailure or flakyError]"/>
    </xsl:call-template>
  </xsl:template>

  <!-- Test cases that failed first and passed on a re-run, for one side. -->
  <xsl:template name="flakes">
    <xsl:param name="label"/>
    <xsl:param name="cases"/>
    <xsl:value-of select="$label"/>
    <xsl:choose>
      <xsl:when test="$cases">
        <xsl:text>&#10;&#10;</xsl:text>
        <xsl:for-each select="$cases">
          <xsl:text>- `</xsl:text>
          <xsl:value-of select="@classname"/><xsl:text>#</xsl:text><xsl:value-of select="@name"/>
          <xsl:text>`: first </xsl:text>
          <xsl:value-of select="(flakyFailure | flakyError)[1]/@type"/>
          <xsl:text>&#10;</xsl:text>
        </xsl:for-each>
      </xsl:when>
      <xsl:otherwise><xsl:text>none.&#10;</xsl:text></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "passed / failed / skipped" of one or more testsuite elements, or "not run". -->
  <xsl:template name="counts">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="not($s)">not run</xsl:when>
      <xsl:otherwise>
        <xsl:variable name="failed" select="sum($s/@failures) + sum($s/@errors)"/>
        <xsl:value-of select="sum($s/@tests) - $failed - sum($s/@skipped)"/>
        <xsl:text> / </xsl:text>
        <xsl:value-of select="$failed"/>
        <xsl:text> / </xsl:text>
        <xsl:value-of select="sum($s/@skipped)"/>
        <xsl:variable name="flaky" select="count($s/testcase[flakyFailure or flakyError])"/>
        <xsl:if test="$flaky &gt; 0">
          <xsl:text> (</xsl:text><xsl:value-of select="$flaky"/><xsl:text> flaky)</xsl:text>
        </xsl:if>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Summed time attribute in seconds, one decimal; surefire writes "1,234.5" above 999 s
       in some locales, so commas are dropped first. -->
  <xsl:template name="secs">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="not($s)">-</xsl:when>
      <xsl:otherwise>
        <xsl:variable name="t">
          <xsl:call-template name="sum-time"><xsl:with-param name="nodes" select="$s"/></xsl:call-template>
        </xsl:variable>
        <xsl:value-of select="format-number($t, '0.0')"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="sum-time">
    <xsl:param name="nodes"/>
    <xsl:param name="acc" select="0"/>
    <xsl:choose>
      <xsl:when test="not($nodes)"><xsl:value-of select="$acc"/></xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="sum-time">
          <xsl:with-param name="nodes" select="$nodes[position() &gt; 1]"/>
          <xsl:with-param name="acc" select="$acc + number(translate($nodes[1]/@time, ',', ''))"/>
        </xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- One failed test case: class#method and the first line of its failure message. -->
  <xsl:template name="case">
    <xsl:text>- `</xsl:text>
    <xsl:value-of select="@classname"/><xsl:text>#</xsl:text><xsl:value-of select="@name"/>
    <xsl:text>`: </xsl:text>
    <xsl:variable name="f" select="(failure | error)[1]"/>
    <xsl:value-of select="$f/@type"/>
    <xsl:if test="string($f/@message)">
      <xsl:text>: </xsl:text>
      <xsl:variable name="m" select="normalize-space($f/@message)"/>
      <xsl:value-of select="substring($m, 1, 200)"/>
      <xsl:if test="string-length($m) &gt; 200">…</xsl:if>
    </xsl:if>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
