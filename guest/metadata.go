package guest

// Where keel run qemu puts user data for a machine and keel/metadata looks for it: fw_cfg
// files (under /sys/firmware/qemu_fw_cfg/by_name/NAME/raw in the guest) and a kernel
// command-line key whose value is base64.
const (
	FwCfgUserData      = "opt/org.keel/user-data"
	FwCfgMetaData      = "opt/org.keel/meta-data"
	FwCfgNetworkConfig = "opt/org.keel/network-config"
	KeyUserData        = "keel.userdata"
)
