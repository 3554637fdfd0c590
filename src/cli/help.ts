// Root help lists every command, `certs export` and `certs check` included, instead of only the topic.
import { Help } from '@oclif/core';

export default class DaprupHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    this.log(this.formatRoot());
    this.log('');
    this.log(this.formatCommands(this.sortedCommands.filter((c) => !c.hidden)));
    this.log('');
    this.log(
      "Run `daprup COMMAND --help` for a command's flags and examples. Exit codes: 0 ok, 1 a step failed, 2 usage, 3 refused by a safety check, 4 confirmation needed, 130 interrupted.",
    );
  }
}
