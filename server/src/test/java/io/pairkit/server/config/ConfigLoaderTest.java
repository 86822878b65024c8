package io.pairkit.server.config;

import io.pairkit.control.ExtentSyntax;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The configuration is checked whole before anything opens; each error names file, key, fix. */
class ConfigLoaderTest {
  @TempDir
  Path dir;

  private static final String BASE = String.join("\n",
      "controller.metadataDirectory=/tmp/meta",
      "volume.prod.type=file",
      "volume.prod.path=/tmp/prod.img",
      "");

  private Path write(String text) throws Exception {
    Path f = dir.resolve("pairkitd.properties");
    Files.writeString(f, text);
    return f;
  }

  private ConfigException refused(String text) throws Exception {
    Path f = write(text);
    ConfigException e = assertThrows(ConfigException.class,
        () -> new ConfigLoader(Map.of("S3_SECRET", "s3cr3t")::get).load(f));
    assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
    return e;
  }

  @Test
  void aGoodFile_loadsEveryKey() throws Exception {
    DaemonConfig c = new ConfigLoader(Map.of("S3_SECRET", "s3cr3t")::get).load(write(BASE
        + "controller.trackSize=16k\ncontroller.cache=64m\nserver.nbd.port=0\n"
        + "controller.mirrorMode=async\ncontroller.writeIntentRegionSize=32m\n"
        + "volume.vault.type=secretive-test\nvolume.vault.password=${env:S3_SECRET}\n"
        + "volume.vault.export=false\n"));
    assertEquals(16 << 10, c.trackSize());
    assertEquals(io.pairkit.api.MirrorMode.ASYNCHRONOUS, c.mirrorMode());
    assertEquals(32L << 20, c.writeIntentRegionSize());
    assertEquals(64L << 20, c.trackCache().orElseThrow().capacityBytes());
    assertEquals(0, c.nbdPort());
    assertEquals(10810, c.controlPort());
    assertEquals(2, c.volumes().size());
    DaemonConfig.VolumeConfig vault = c.volumes().get(1);
    assertEquals("s3cr3t", vault.spec().property("password").orElseThrow());
    assertEquals(false, vault.export());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "unknown key|server.colour=blue|'server.colour'",
      "volume without type|volume.x.path=/tmp/x|volume.x.type",
      "unknown backend type|volume.x.type=floppy|floppy",
      "malformed size|controller.trackSize=lots|'controller.trackSize'",
      "malformed boolean|volume.prod.export=yes|volume.prod.export",
      "port out of range|server.nbd.port=70000|server.nbd.port",
      "non-loopback bind|server.control.address=8.8.8.8|server.allowRemote=true",
      "inline secret|volume.v.type=secretive-test\\nvolume.v.password=hunter2|${env:",
      "unset variable|volume.v.type=secretive-test\\nvolume.v.password=${env:NOPE}|NOPE",
      "bad reference|volume.prod.size=${HOME}|${env:NAME}",
      "bad volume key|volume.=x|volume.NAME.PROPERTY",
      "cache option without cache|controller.cache.writeThrough=true|controller.cache=SIZE",
      "track size not a power of two|controller.trackSize=48k|power of two",
      "track size too small|controller.trackSize=1k|'controller.trackSize'",
      "key given twice|volume.prod.size=1m\\nvolume.prod.size=2m|more than once",
      "misspelt daemon key|volume.prod.exportReadonly=true|exportReadOnly",
      "unknown mirror mode|controller.mirrorMode=fast|sync or async",
      "region not a power of two|controller.writeIntentRegionSize=12m|power of two",
      "region below the track size|controller.writeIntentRegionSize=4k|"
          + "'controller.writeIntentRegionSize'",
      "member secret inline|volume.r.type=raid\\nvolume.r.member.0.type=secretive-test\\n"
          + "volume.r.member.0.password=hunter2|${env:",
      "misspelt volume property|volume.prod.direkt=true|did you mean 'direct'?",
      "unknown volume property|volume.prod.colour=blue|'volume.prod.colour' is not a property "
          + "of file volumes",
      "misspelt member property|volume.r.type=raid\\nvolume.r.level=1\\n"
          + "volume.r.member.0.type=file\\nvolume.r.member.0.pth=/tmp/m0|"
          + "did you mean 'member.0.path'?"})
  void badInput_isRefusedNamingTheKeyAndTheFix(String what, String line, String mentioned)
      throws Exception {
    ConfigException e = refused(BASE + line.replace("\\n", "\n") + "\n");
    assertTrue(e.getMessage().contains(mentioned), what + ": " + e.getMessage());
  }

  @Test
  void volumesKeepTheirFileOrder() throws Exception {
    DaemonConfig c = new ConfigLoader().load(write("controller.metadataDirectory=/tmp/m\n"
        + "volume.zeta.type=file\nvolume.zeta.path=/z\nvolume.alpha.type=file\n"
        + "volume.alpha.path=/a\n"));
    assertEquals(java.util.List.of("zeta", "alpha"),
        c.volumes().stream().map(v -> v.spec().name()).toList());
  }

  @Test
  void missingMetadataDirectory_andNoVolumes_andMissingFile() throws Exception {
    assertTrue(refused("volume.prod.type=file\nvolume.prod.path=/x\n").getMessage()
        .contains("controller.metadataDirectory"));
    assertTrue(refused("controller.metadataDirectory=/tmp/m\n").getMessage()
        .contains("no volumes"));
    ConfigException missing = assertThrows(ConfigException.class,
        () -> new ConfigLoader().load(dir.resolve("nope.properties")));
    assertTrue(missing.getMessage().contains("nope.properties") && missing.getMessage()
        .contains("--config"), missing.getMessage());
  }

  @Test
  void extentSyntax_parsesSuffixesAndRefusesNonsense() {
    assertEquals("0-1048576,4194304-8388608",
        ExtentSyntax.format(ExtentSyntax.parse("0-1m, 4m-8m")));
    for (String bad : new String[] {"", "5m", "8m-4m", "1x-2m", "-4m"}) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> ExtentSyntax.parse(bad));
      assertTrue(e.getMessage().contains("END") || e.getMessage().contains("suffix")
          || e.getMessage().contains("no extents"),
          bad + ": " + e.getMessage());
    }
  }
}
