package bencode_test

import (
	"fmt"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

func ExampleDecode() {
	v, err := bencode.Decode([]byte("d7:command4:ping7:call-id3:abc5:flagsl9:symmetricee"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cmd, _ := v.GetString("command")
	flags, _ := v.GetList("flags")
	fmt.Println(cmd, len(flags), flags[0].Str)

	_, err = bencode.Decode([]byte("d1:ai03ee"))
	fmt.Println(err)
	// Output:
	// ping 1 symmetric
	// bencode: offset 5: leading zero in integer
}

func ExampleAppend() {
	reply := bencode.Dict(bencode.P("result", bencode.String("pong")))
	reply.Set("created", bencode.Int(1700000000))

	buf := []byte("cookie ")
	buf = bencode.Append(buf, reply)
	fmt.Printf("%s\n", buf)
	fmt.Printf("%s\n", bencode.AppendJSON(nil, reply))
	// Output:
	// cookie d6:result4:pong7:createdi1700000000ee
	// {"result":"pong","created":1700000000}
}
