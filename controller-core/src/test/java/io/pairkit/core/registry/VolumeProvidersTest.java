package io.pairkit.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.backend.file.FileVolumeProvider;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VolumeProvidersTest {

  @Test
  void theClassPathBackendsAreFoundByType() {
    VolumeProviders found = VolumeProviders.load(getClass().getClassLoader());
    assertEquals(Set.of("file"), found.types());
    assertEquals("file", found.get("file", "v").type());
  }

  @Test
  void twoBackendsClaimingOneTypeIsAnErrorNamingBoth() {
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> VolumeProviders.of(new FileVolumeProvider(), new FileVolumeProvider()));
    assertTrue(e.getMessage().contains("two volume backends claim type 'file'")
        && e.getMessage().contains(FileVolumeProvider.class.getName())
        && e.getMessage().contains("remove one"), e.getMessage());
  }

  @Test
  void anUnknownTypeListsTheKnownOnes() {
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> VolumeProviders.of(new FileVolumeProvider()).get("s3", "backup"));
    assertTrue(e.getMessage().contains("'backup'") && e.getMessage().contains("'s3'")
        && e.getMessage().contains("[file]"), e.getMessage());
  }
}
