"""What the launcher (``clipdrop-widgets studio``, `clipdrop_widgets.cli`) gives the servers it
starts, importable there without the widgets: `preload`, the Studio page's preloaded scripts
(Voila imports it from its configuration file)."""
