package probe

// The JSON objects podprobe prints (images/podprobe), as the suite reads them.

// NS is `podprobe ns`.
type NS struct {
	Namespaces map[string]string `json:"namespaces"`
	Hostname   string            `json:"hostname"`
	Domainname string            `json:"domainname"`
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	UIDMap     string            `json:"uid_map"`
	GIDMap     string            `json:"gid_map"`
}

// Dial is `podprobe dial`.
type Dial struct {
	Proto  string `json:"proto"`
	Addr   string `json:"addr"`
	Result string `json:"result"`
	Sent   string `json:"sent"`
	Echo   string `json:"echo"`
	Server struct {
		Hostname string `json:"hostname"`
		PID      int    `json:"pid"`
		NetNS    string `json:"netns"`
	} `json:"server"`
	Error string `json:"error"`
	Errno string `json:"errno"`
}

// Bind is `podprobe bind`.
type Bind struct {
	Proto string `json:"proto"`
	Addr  string `json:"addr"`
	Bound bool   `json:"bound"`
	Errno string `json:"errno"`
}

// Addrs is `podprobe addrs`.
type Addrs struct {
	Interfaces []Interface `json:"interfaces"`
}

// Interface is one network interface in Addrs.
type Interface struct {
	Name     string   `json:"name"`
	Index    int      `json:"index"`
	Up       bool     `json:"up"`
	Loopback bool     `json:"loopback"`
	MAC      string   `json:"mac"`
	Addrs    []string `json:"addrs"`
}

// IPC is the output of the sysv-msg, sysv-shm and posix-mq subcommands.
type IPC struct {
	Key      int64  `json:"key"`
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Sent     string `json:"sent"`
	Received string `json:"received"`
	Written  string `json:"written"`
	Read     string `json:"read"`
	Errno    string `json:"errno"`
}

// File is the output of `podprobe file read|write|stat`.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Written string `json:"written"`
	Exists  bool   `json:"exists"`
	Size    int64  `json:"size"`
	Inode   uint64 `json:"inode"`
	Dev     uint64 `json:"dev"`
	Errno   string `json:"errno"`
}

// FSType is `podprobe fs-type`.
type FSType struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Magic string `json:"magic"`
}

// Mounts is `podprobe mounts`.
type Mounts struct {
	Mounts []Mount `json:"mounts"`
}

// Mount is one entry of Mounts.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	FSType   string `json:"fstype"`
	Options  string `json:"options"`
	ReadOnly bool   `json:"readonly"`
}

// At returns the mount at target, if any (the last one, which is what is visible).
func (m Mounts) At(target string) (Mount, bool) {
	var found Mount
	ok := false
	for _, x := range m.Mounts {
		if x.Target == target {
			found, ok = x, true
		}
	}
	return found, ok
}

// Hostname is `podprobe hostname get|set`.
type Hostname struct {
	Hostname   string `json:"hostname"`
	Domainname string `json:"domainname"`
}
