"""PAN-OS configuration XML (`show config running`, an exported running-config, a Panorama
export) read into the vendor-neutral policy model."""
