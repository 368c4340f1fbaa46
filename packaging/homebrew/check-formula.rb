# Loads a rendered trust-proxy formula with the few Formula methods it uses (not Homebrew:
# brew is not installable here) and checks it against a real release archive:
#   ruby check-formula.rb FORMULA EXTRACTED_ARCHIVE_DIR PREFIX ARCHIVE_NAME SHA256
# Every url/sha256 pair (one per OS and CPU) is collected; the pair for ARCHIVE_NAME must carry
# SHA256; `install` runs in the extracted archive, copying what it names into PREFIX (a file
# it names that the archive lacks fails); then the formula's own `test do` block runs the
# installed binary.
require "fileutils"
require "open3"

formula_path, archive_dir, prefix, archive_name, archive_sha = ARGV
abort "usage: check-formula.rb FORMULA DIR PREFIX ARCHIVE SHA256" unless archive_sha

class Installer
  def initialize(dir) = (@dir = dir)
  def install(*sources)
    FileUtils.mkdir_p(@dir)
    sources.each do |source|
      pairs = source.is_a?(Hash) ? source.to_a : [[source, nil]]
      pairs.each do |from, to|
        Array(from).each do |file|
          raise "the formula installs #{file}, which the archive lacks" unless File.exist?(file)
          FileUtils.cp(file, File.join(@dir, to || File.basename(file)))
        end
      end
    end
  end
  def to_s = @dir
end

class Formula
  class << self
    attr_reader :downloads, :test_block
    def desc(text) = (@desc = text)
    def homepage(url) = (@homepage = url)
    def license(spec) = (@license = spec)
    def version(value = nil) = value ? (@version = value) : @version
    def url(value) = (@downloads ||= []) << { url: value }
    def sha256(value) = (@downloads.last[:sha256] = value)
    %i[on_macos on_linux on_arm on_intel].each { |m| define_method(m) { |&b| b.call } }
    def test(&block) = (@test_block = block)
  end
  def initialize(prefix) = (@prefix = prefix)
  def version = self.class.version
  { bin: "bin", man1: "share/man/man1", bash_completion: "etc/bash_completion.d",
    zsh_completion: "share/zsh/site-functions", fish_completion: "share/fish/vendor_completions.d",
    doc: "share/doc/trust-proxy" }.each do |name, sub|
    define_method(name) { Installer.new(File.join(@prefix, sub)) }
  end
  def shell_output(command)
    out, status = Open3.capture2e(command)
    raise "#{command} failed: #{out}" unless status.success?
    out
  end
  def assert_match(pattern, text)
    raise "#{pattern.inspect} not in #{text.inspect}" unless text.include?(pattern)
  end
end

load formula_path
formula_class = Formula.subclasses.first || ObjectSpace.each_object(Class).find { |c| c < Formula }
downloads = formula_class.downloads
raise "expected 4 downloads (macOS/Linux x arm/intel), got #{downloads.size}" unless downloads.size == 4
downloads.each do |d|
  raise "bad sha256 #{d[:sha256].inspect} for #{d[:url]}" unless d[:sha256].to_s.match?(/\A\h{64}\z/)
end
mine = downloads.find { |d| d[:url].end_with?("/#{archive_name}") }
raise "no url for #{archive_name}" unless mine
raise "sha256 for #{archive_name} is #{mine[:sha256]}, the archive's is #{archive_sha}" unless mine[:sha256] == archive_sha
formula = formula_class.new(prefix)
Dir.chdir(archive_dir) { formula.install }
formula.instance_eval(&formula_class.test_block)
puts "formula ok: #{downloads.size} downloads, installed into #{prefix}, test block passed"
