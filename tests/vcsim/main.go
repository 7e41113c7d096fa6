// Command vcsim-holdtime runs govmomi's vCenter simulator for holdtime's tests.
//
// Debian ships the simulator package (golang-github-vmware-govmomi-dev) but no vcsim main, so this
// launcher wraps it: either a generated VPX model (-dc/-cluster/-host/-standalone-host/-ds/-pg/-vm)
// or a saved inventory (-load DIR, one ObjectContent XML file per object), optionally with a
// crypto manager (-kms FILE: key providers, KMIP servers, certificates; see kms.go). It prints
// "VCSIM_URL=<url>" once it listens and runs until SIGTERM/SIGINT or until stdin closes
// (so a test that dies never leaves it behind).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: a free port)")
	load := flag.String("load", "", "load a saved inventory from this directory instead of generating one")
	username := flag.String("username", "user", "login user name")
	password := flag.String("password", "pass", "login password")
	useTLS := flag.Bool("tls", true, "serve HTTPS")
	certFile := flag.String("tlscert", "", "PEM certificate (default: the built-in localhost test certificate)")
	keyFile := flag.String("tlskey", "", "PEM private key for -tlscert")
	kmsFile := flag.String("kms", "", "JSON spec of the crypto manager's key providers (kms.go)")
	watchStdin := flag.Bool("stdin-exit", true, "exit when stdin reaches EOF")
	model := simulator.VPX()
	flag.IntVar(&model.Datacenter, "dc", 1, "datacenters")
	flag.IntVar(&model.Cluster, "cluster", 1, "clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "host", 3, "hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", 0, "standalone hosts per datacenter")
	flag.IntVar(&model.Datastore, "ds", 1, "local datastores")
	flag.IntVar(&model.Portgroup, "pg", 0, "distributed portgroups per datacenter (>0 also creates a DVS)")
	flag.IntVar(&model.Machine, "vm", 0, "virtual machines per host")
	flag.Parse()

	var err error
	if *load != "" {
		err = model.Load(*load)
	} else {
		err = model.Create()
	}
	if err != nil {
		log.Fatalf("vcsim-holdtime: model: %v", err)
	}
	defer model.Remove()
	if *kmsFile != "" {
		if err := installKms(*kmsFile); err != nil {
			log.Fatalf("vcsim-holdtime: -kms: %v", err)
		}
	}

	if *useTLS {
		model.Service.TLS = new(tls.Config)
		if *certFile != "" {
			cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				log.Fatalf("vcsim-holdtime: -tlscert/-tlskey: %v", err)
			}
			model.Service.TLS.Certificates = []tls.Certificate{cert}
		}
	}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}

	server := model.Service.NewServer()
	defer server.Close()
	// The URL carries the credentials; print it without them.
	shown := *server.URL
	shown.User = nil
	fmt.Printf("VCSIM_URL=%s\n", shown.String())
	_ = os.Stdout.Sync()

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			done <- syscall.SIGTERM
		}()
	}
	<-done
}
