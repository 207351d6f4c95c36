"""Microsoft Fabric Open Mirroring: the landing-zone layout, the store that writes it, and a replayer
that reads it back as Fabric would."""
